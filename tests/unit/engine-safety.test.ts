import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_SAFETY, safetyViolations } from "../../src/settings/engine-safety.ts";

const check = (HostConfig: object, settings = DEFAULT_ENGINE_SAFETY, onThisMachine = false) =>
  safetyViolations({ Image: "x", HostConfig }, settings, onThisMachine);

describe("engine safety", () => {
  it("lets a plain container through", () => {
    expect(check({})).toEqual([]);
    expect(check({ Binds: ["named-volume:/data"], NetworkMode: "bridge", Memory: 1 << 20 })).toEqual([]);
  });

  it("refuses, by default, each way to root on the host", () => {
    expect(check({ Privileged: true })).toHaveLength(1);
    expect(check({ SecurityOpt: ["seccomp=unconfined"] })).toHaveLength(1);
    for (const field of ["NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"]) {
      expect(check({ [field]: "host" })).toEqual([expect.stringContaining(field)]);
    }
    expect(check({ Devices: [{ PathOnHost: "/dev/sda" }] })).toHaveLength(1);
    expect(check({ CapAdd: ["SYS_ADMIN"] })).toHaveLength(1);
    expect(check({ Binds: ["/:/host"] })).toEqual([expect.stringContaining("binding host path /")]);
    expect(check({ Mounts: [{ Type: "bind", Source: "/etc", Target: "/x" }] })).toHaveLength(1);
  });

  it("allows what an admin turned on, and bind mounts under allowed paths only", () => {
    const open = {
      allow_privileged: true,
      allow_host_namespaces: true,
      allow_devices: true,
      allow_capabilities: true,
      allowed_bind_paths: ["/srv/data/"],
    };
    expect(check({ Privileged: true, PidMode: "host", CapAdd: ["NET_ADMIN"], Devices: [{}] }, open)).toEqual(
      [],
    );
    expect(check({ Binds: ["/srv/data/app:/app:ro"] }, open)).toEqual([]);
    expect(check({ Binds: ["/srv/data:/app"] }, open)).toEqual([]);
    expect(check({ Binds: ["/srv/database:/app"] }, open)).toHaveLength(1);
    expect(check({ Binds: ["/srv/data/../../etc:/app"] }, open)).toHaveLength(1);
  });

  it("follows symlinks on this machine: a link inside an allowed directory does not lead out", () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "gptest-safety-")));
    try {
      mkdirSync(join(dir, "allowed"));
      symlinkSync("/etc", join(dir, "allowed", "escape"));
      const settings = { ...DEFAULT_ENGINE_SAFETY, allowed_bind_paths: [join(dir, "allowed")] };
      expect(check({ Binds: [`${dir}/allowed/ok:/x`] }, settings, true)).toEqual([]);
      expect(check({ Binds: [`${dir}/allowed/escape:/x`] }, settings, true)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
