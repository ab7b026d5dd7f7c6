import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { ContainerCreateSchema } from "../../src/safety/create-schema.ts";
import { type SafetyContext, vetCreate } from "../../src/safety/rules.ts";
import { parseStrictJson } from "../../src/safety/strict-json.ts";
import { DEFAULT_ENGINE_SAFETY, type EngineSafety } from "../../src/settings/engine-safety.ts";

/** A caller whose team owns container "mine", network "ournet" and volume "ourvol". */
function context(settings: EngineSafety = DEFAULT_ENGINE_SAFETY, onThisMachine = false): SafetyContext {
  return {
    settings,
    onThisMachine,
    ownedContainer: async (ref) =>
      ref === "mine"
        ? { id: "f".repeat(64) }
        : ref === "risky"
          ? { refused: 'container "risky" has what you could not ask for' }
          : { refused: `no container "${ref}" of your teams` },
    ownsNetwork: async (name) => name === "ournet",
    volume: async (name) =>
      name === "ourvol"
        ? "owned"
        : name === "newvol"
          ? "missing"
          : name === "hostvol"
            ? { refused: "it is a host directory bound through the volume driver", hostBind: true }
            : { refused: "it belongs to another team, or to none" },
  };
}

const parse = (body: unknown) => z.safeParse(ContainerCreateSchema, body);
const vet = async (HostConfig: object, ctx = context(), extra: object = {}) => {
  const parsed = parse({ Image: "x", HostConfig, ...extra });
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
  return vetCreate(parsed.data, ctx);
};
const problems = async (HostConfig: object, ctx = context(), extra: object = {}) =>
  (await vet(HostConfig, ctx, extra)).problems;

describe("the create body's schema", () => {
  it("refuses keys in another case, Unicode foldings and private client keys, naming the meant one", () => {
    for (const body of [
      { Image: "x", hostconfig: { Privileged: true } },
      { Image: "x", HoſtConfig: { Privileged: true } },
      { Image: "x", HostConfig: { PRIVILEGED: true } },
      { Image: "x", HostConfig: { Privileged: true }, _body: { HostConfig: { Privileged: true } } },
      { Image: "x", _query: {} },
      { Image: "x", authconfig: {} },
      { Image: "x", HostConfig: { Mounts: [{ Type: "bind", source: "/" }] } },
    ]) {
      const r = parse(body);
      expect(r.success, JSON.stringify(body)).toBe(false);
    }
    const r = parse({ Image: "x", HoſtConfig: {} });
    expect(JSON.stringify(r.error?.issues)).toContain('field names are exact: \\"HostConfig\\"');
  });

  it("refuses wrong types: a list given as a string, a fraction for an integer", () => {
    expect(parse({ Image: "x", HostConfig: { CapAdd: "SYS_ADMIN" } }).success).toBe(false);
    expect(parse({ Image: "x", HostConfig: { Memory: 1.5 } }).success).toBe(false);
    expect(parse({ Image: "x", HostConfig: { Privileged: "true" } }).success).toBe(false);
    expect(parse({ Image: 1 }).success).toBe(false);
  });

  it("takes what the docker CLI sends, nulls included", () => {
    const r = parse({
      Image: "x",
      Cmd: ["sh"],
      Env: null,
      ExposedPorts: { "80/tcp": {} },
      HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] }, MaskedPaths: null },
      NetworkingConfig: { EndpointsConfig: { bridge: null } },
    });
    expect(r.success).toBe(true);
  });

  it("parses JSON strictly: a duplicate key or __proto__ anywhere is refused", () => {
    expect(() => parseStrictJson('{"HostConfig":{"Privileged":false,"Privileged":true}}')).toThrow(
      "HostConfig.Privileged: given twice",
    );
    expect(() => parseStrictJson('{"a":[{"b":1},{"c":{"d":1,"\\u0064":2}}]}')).toThrow("given twice");
    expect(() => parseStrictJson('{"Labels":{"__proto__":{"x":"1"}}}')).toThrow("__proto__");
    expect(parseStrictJson('{"a":{"b":1},"b":{"a":"}\\"{"}}')).toEqual({ a: { b: 1 }, b: { a: '}"{' } });
    expect(() => parseStrictJson("{bad")).toThrow(SyntaxError);
  });
});

describe("engine safety for a non-admin's create", () => {
  it("lets a plain container through, with owned volumes, networks and containers", async () => {
    expect(await problems({})).toEqual([]);
    const ok = await vet(
      {
        Binds: ["ourvol:/data", "newvol:/more:ro"],
        NetworkMode: "ournet",
        PidMode: "container:mine",
        Memory: 1 << 20,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
        Mounts: [{ Type: "tmpfs", Target: "/tmp" }],
      },
      context(),
      { NetworkingConfig: { EndpointsConfig: { ournet: { Aliases: ["web"] } } } },
    );
    expect(ok.problems).toEqual([]);
    expect(ok.volumesToCreate).toEqual(["newvol"]);
    // The engine is given the owned container's full id, never the name it resolves itself.
    expect(ok.body.HostConfig?.PidMode).toBe(`container:${"f".repeat(64)}`);
  });

  it("refuses each way to the host, to the runtime beneath and to other teams", async () => {
    for (const hc of [
      { Privileged: true },
      { SecurityOpt: ["seccomp=unconfined"] },
      { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] },
      { SecurityOpt: ["label=disable"] },
      { SecurityOpt: ["apparmor=unconfined"] },
      { MaskedPaths: [] },
      { ReadonlyPaths: [] },
      { NetworkMode: "host" },
      { PidMode: "host" },
      { IpcMode: "host" },
      { UTSMode: "host" },
      { UsernsMode: "host" },
      { CgroupnsMode: "host" },
      { PidMode: "container:theirs" },
      { NetworkMode: "container:theirs" },
      { IpcMode: "container:theirs" },
      { NetworkMode: "theirnet" },
      { VolumesFrom: ["theirs"] },
      { VolumesFrom: ["risky:ro"] },
      { NetworkMode: "container:risky" },
      { NetworkMode: "rt-q/../ournet" },
      { VolumesFrom: ["mine:rw:x"] },
      { Links: ["theirs:db"] },
      { Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda" }] },
      { DeviceRequests: [{ Count: -1, Capabilities: [["gpu"]] }] },
      { DeviceCgroupRules: ["a *:* rwm"] },
      { BlkioDeviceReadBps: [{ Path: "/dev/sda", Rate: 1 }] },
      { CapAdd: ["SYS_ADMIN"] },
      { Sysctls: { "kernel.shm_rmid_forced": "1" } },
      { CgroupParent: "/" },
      { Cgroup: "container:x" },
      { Runtime: "io.containerd.runc.v2-evil" },
      { OomScoreAdj: -1000 },
      { OomKillDisable: true },
      { CpuRealtimeRuntime: 950000 },
      { Annotations: { "io.kubernetes.cri-o.hook": "x" } },
      { StorageOpt: { size: "1G" } },
      { VolumeDriver: "local" },
      { ContainerIDFile: "/etc/cron.d/x" },
      { Isolation: "hyperv" },
      { LogConfig: { Type: "syslog", Config: { "syslog-address": "tcp://203.0.113.1:514" } } },
      { LogConfig: { Type: "json-file", Config: { "syslog-address": "x" } } },
      { Binds: ["/:/host"] },
      { Binds: ["/etc:/host-etc:ro"] },
      { Binds: ["theirvol:/data"] },
      { Binds: ["hostvol:/data"] },
      { Binds: ["ourvol:/data:rshared"] },
      { Binds: ["ourvol:/data:z"] },
      { Binds: ["./rel:/data"] },
      { Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] },
      {
        Mounts: [
          {
            Type: "volume",
            Target: "/h",
            VolumeOptions: {
              DriverConfig: { Name: "local", Options: { type: "none", o: "bind", device: "/" } },
            },
          },
        ],
      },
      { Mounts: [{ Type: "volume", Source: "theirvol", Target: "/v" }] },
      { Mounts: [{ Type: "image", Source: "x", Target: "/v" }] },
      { Mounts: [{ Type: "tmpfs", Target: "/proc/sys" }] },
      { Binds: ["ourvol:/sys/fs/cgroup"] },
      { Tmpfs: { "/dev": "" } },
      { Mounts: [{ Type: "npipe", Source: "x", Target: "/v" }] },
      { Mounts: [{ Type: "volume", Source: "ourvol", Target: "/v", VolumeOptions: { Subpath: "../.." } }] },
    ]) {
      const found = await problems(hc);
      expect(found.length, JSON.stringify(hc)).toBeGreaterThan(0);
      expect(found[0], JSON.stringify(hc)).toMatch(/^HostConfig\./);
    }
    expect(
      await problems({}, context(), { NetworkingConfig: { EndpointsConfig: { host: {} } } }),
    ).toHaveLength(1);
    expect(
      await problems({}, context(), { NetworkingConfig: { EndpointsConfig: { theirnet: {} } } }),
    ).toHaveLength(1);
    expect(
      await problems({}, context(), {
        NetworkingConfig: { EndpointsConfig: { ournet: { DriverOpts: { "com.docker.network.x": "1" } } } },
      }),
    ).toHaveLength(1);
    // Paths as the engine cleans them.
    for (const WorkingDir of ["/proc/self/fd/8", "/./proc/self/fd/7", "/tmp/../proc/self/fd/8"])
      expect(await problems({}, context(), { WorkingDir }), WorkingDir).toHaveLength(1);
    expect(await problems({ Binds: ["ourvol:/tmp/../dev"] })).toHaveLength(1);
    expect(await problems({ Mounts: [{ Type: "tmpfs", Target: "/dev/shm/../../proc/sys" }] })).toHaveLength(
      1,
    );
    expect(await problems({ Tmpfs: { "/./sys/fs/cgroup": "" } })).toHaveLength(1);
    expect(await problems({}, context(), { Volumes: { "/./proc/rt": {} } })).toHaveLength(1);
    expect(
      await problems({}, context(), { NetworkingConfig: { EndpointsConfig: { "x/../ournet": {} } } }),
    ).toHaveLength(1);
    expect(await problems({}, context(), { Volumes: { "/proc/x": {} } })).toHaveLength(1);
    expect(await problems({ Tmpfs: { "/dev/shm": "" } })).toEqual([]);
  });

  it("allows what an admin turned on", async () => {
    const open = {
      allow_privileged: true,
      allow_host_namespaces: true,
      allow_devices: true,
      allow_capabilities: true,
      allowed_bind_paths: [],
    };
    expect(
      await problems(
        {
          Privileged: true,
          PidMode: "host",
          CapAdd: ["NET_ADMIN"],
          Devices: [{}],
          SecurityOpt: ["label=disable"],
        },
        context(open),
      ),
    ).toEqual([]);
    // Admin-only fields stay admin-only whatever the settings.
    expect(await problems({ Sysctls: { a: "b" } }, context(open))).toHaveLength(1);
  });

  it("binds a host path only when it is exactly listed, exists, has no symlink and nobody but root can change what is above it", async () => {
    // Under /run (root's, 0755): /tmp is writable by everyone, so nothing under it can be proven.
    const dir = mkdtempSync("/run/gptest-safety-");
    try {
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, "allowed"));
      mkdirSync(join(dir, "allowed", "below"));
      mkdirSync(join(dir, "open"), { mode: 0o777 });
      chmodSync(join(dir, "open"), 0o777);
      mkdirSync(join(dir, "open", "inside"));
      symlinkSync("/etc", join(dir, "link"));
      const settings = {
        ...DEFAULT_ENGINE_SAFETY,
        allowed_bind_paths: [
          join(dir, "allowed"),
          join(dir, "allowed", "below"),
          join(dir, "link"),
          join(dir, "missing"),
          join(dir, "open", "inside"),
        ],
      };
      const ctx = context(settings, true);
      expect(await problems({ Binds: [`${dir}/allowed:/x`] }, ctx)).toEqual([]);
      expect(await problems({ Binds: [`${dir}/allowed/:/x:ro`] }, ctx)).toEqual([]);
      expect(
        await problems({ Mounts: [{ Type: "bind", Source: `${dir}/allowed`, Target: "/x" }] }, ctx),
      ).toEqual([]);
      const refused = async (source: string, why: RegExp) => {
        const found = await problems({ Binds: [`${source}:/x`] }, ctx);
        expect(found.join(), source).toMatch(why);
      };
      await refused(`${dir}/allowed/other`, /not one of the host paths/);
      await refused(`${dir}/allowed/below`, /itself bindable/);
      await refused(`${dir}/link`, /is a symlink/);
      await refused(`${dir}/missing`, /does not exist/);
      await refused(`${dir}/open/inside`, /someone other than root/);
      await refused(`${dir}/allowed/../allowed/../link`, /symlink|not one of/);
      // A remote engine's files cannot be looked at from here.
      expect(await problems({ Binds: [`${dir}/allowed:/x`] }, context(settings, false))).toHaveLength(1);
      expect(
        await problems(
          {
            Mounts: [
              {
                Type: "bind",
                Source: `${dir}/allowed`,
                Target: "/x",
                BindOptions: { CreateMountpoint: true },
              },
            ],
          },
          ctx,
        ),
      ).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
