import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupEngine, docker, RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";

describe("engine safety for non-admins, on by default", () => {
  let p: TestPanel;
  let operator = "";
  // Under /run (root's, 0755): a listed path is bindable only when nobody but root can change its parents.
  const dir = mkdtempSync("/run/gptest-bind-");
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];

  const create = (token: string, HostConfig: object) =>
    fetch(`${p.url}/api/v1/envs/local/containers`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: uniqueName("safety"),
        Image: TEST_IMAGE,
        Cmd: ["true"],
        Labels: { [labelKey]: labelValue },
        HostConfig,
      }),
    });

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    p = await startTestPanel();
    expect(
      (await p.api("POST", "/api/v1/users", { username: "ops", password: "safety-pass", role: "operator" }))
        .status,
    ).toBe(201);
    const team = await p.api("POST", "/api/v1/teams", { name: "ops-team" });
    const users = (await p.api("GET", "/api/v1/users")).body as { id: number; username: string }[];
    await p.api("PUT", `/api/v1/teams/${team.body.id}`, {
      members: [users.find((u) => u.username === "ops")!.id],
    });
    operator = await tokenFor(p.url, { username: "ops", password: "safety-pass" }, "ops");
  });

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses privileged, host namespaces, devices, capabilities and host binds; says why", async () => {
    for (const hc of [
      { Privileged: true },
      { NetworkMode: "host" },
      { PidMode: "host" },
      { IpcMode: "host" },
      { Devices: [{ PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwm" }] },
      { CapAdd: ["SYS_ADMIN"] },
      { Binds: ["/etc:/host-etc:ro"] },
      { Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] },
    ]) {
      const res = await create(operator, hc);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(hc)).toBe(403);
      expect(body.error.code).toBe("engine_safety");
    }
    // Nothing was created by the refused calls.
    expect(docker("ps", "-aq", "--filter", `label=${RUN_LABEL}`)).toBe("");
  });

  it("lets a plain container through, labelled for the creator's team", async () => {
    const res = await create(operator, { Binds: [] });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(docker("inspect", "-f", '{{index .Config.Labels "ghostpanel.team"}}', id)).toBe("ops-team");
  });

  it("follows the admin's settings: an allowed bind path, then privileged allowed", async () => {
    const saved = await p.api("PUT", "/api/v1/settings/security", {
      allow_privileged: false,
      allow_host_namespaces: false,
      allow_devices: false,
      allow_capabilities: false,
      allowed_bind_paths: [dir],
    });
    expect(saved.status).toBe(200);
    expect((await create(operator, { Binds: [`${dir}:/app`] })).status).toBe(201);
    // Exactly the listed path: below it, a container could have swapped a directory for a symlink.
    expect((await create(operator, { Binds: [`${dir}/app:/app`] })).status).toBe(403);
    expect((await create(operator, { Binds: [`${dir}-other:/app`] })).status).toBe(403);
    expect(
      (await p.api("PUT", "/api/v1/settings/security", { ...saved.body, allow_privileged: true })).status,
    ).toBe(200);
    expect((await create(operator, { Privileged: true })).status).toBe(201);
    // Admins are never held back by these settings.
    expect((await create(p.token, { CapAdd: ["NET_ADMIN"] })).status).toBe(201);
  });

  it("rejects bad settings with 400", async () => {
    const res = await p.api("PUT", "/api/v1/settings/security", { allowed_bind_paths: ["relative/path"] });
    expect(res.status).toBe(400);
  });
});
