import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  docker,
  eventually,
  RUN_ID,
  RUN_LABEL,
  runContainer,
  uniqueName,
} from "../helpers/engine.ts";
import { cleanupNetworks } from "../helpers/networks.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";

/**
 * Edit (recreate with a changed body) and in-place limits (`/update`), against the real engine:
 * what counts is what `docker inspect` shows afterwards, for an admin's edit, an operator's, and
 * the bodies an operator writes to get more than a create would give.
 */
describe("editing a container and changing its limits in place", () => {
  let p: TestPanel;
  let red = "";
  const redTeam = `edit-red-${RUN_ID}`;
  const blueTeam = `edit-blue-${RUN_ID}`;
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];
  const net1 = uniqueName("editnet1");
  const net2 = uniqueName("editnet2");
  const volume = uniqueName("editvol");
  const inspect = (ref: string) => JSON.parse(docker("inspect", ref))[0];

  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(p.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const jobEnd = (token: string, job: string) =>
    eventually(
      async () => {
        const j = await as(token, "GET", `/api/v1/envs/local/jobs/${job}`);
        return j.body.state === "running" ? undefined : j.body;
      },
      60_000,
      "the edit job",
    );
  /** `docker run`, then wait until the panel's mirror has it (the routes answer from it). */
  const run = async (name: string, command: string[] = ["sleep", "3600"], extra: string[] = []) => {
    const id = runContainer(name, command, extra);
    await eventually(
      async () =>
        (await p.api("GET", `/api/v1/envs/local/containers?name=${name}`)).body.length ? true : undefined,
      10_000,
      `${name} in the mirror`,
    );
    return id;
  };
  /** The form's body for a container: what inspect says it was asked to be. */
  const bodyOf = (ref: string) => {
    const c = inspect(ref);
    return {
      Image: c.Config.Image,
      Cmd: c.Config.Cmd,
      Env: c.Config.Env,
      Labels: c.Config.Labels,
      ExposedPorts: c.Config.ExposedPorts ?? undefined,
      HostConfig: {
        ...(c.HostConfig.PortBindings ? { PortBindings: c.HostConfig.PortBindings } : {}),
        ...(c.HostConfig.Binds ? { Binds: c.HostConfig.Binds } : {}),
        ...(c.HostConfig.Memory ? { Memory: c.HostConfig.Memory } : {}),
        ...(c.HostConfig.RestartPolicy?.Name ? { RestartPolicy: c.HostConfig.RestartPolicy } : {}),
        ...(c.HostConfig.NetworkMode !== "default" ? { NetworkMode: c.HostConfig.NetworkMode } : {}),
      },
    };
  };

  beforeAll(async () => {
    p = await startTestPanel();
    for (const [username, team] of [
      ["edit-red", redTeam],
      ["edit-blue", blueTeam],
    ] as const) {
      const user = await p.api("POST", "/api/v1/users", {
        username,
        password: "edit-pass-1",
        role: "operator",
      });
      expect(user.status).toBe(201);
      const made = await p.api("POST", "/api/v1/teams", { name: team });
      expect(made.status).toBe(201);
      expect((await p.api("PUT", `/api/v1/teams/${made.body.id}`, { members: [user.body.id] })).status).toBe(
        200,
      );
    }
    red = await tokenFor(p.url, { username: "edit-red", password: "edit-pass-1" }, "red");
    for (const net of [net1, net2]) docker("network", "create", "--label", RUN_LABEL, net);
    docker("volume", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${redTeam}`, volume);
  });

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    cleanupNetworks();
    for (const v of docker("volume", "ls", "-q", "--filter", `label=${RUN_LABEL}`).split("\n"))
      if (v) docker("volume", "rm", "-f", v);
  });

  it("changes limits and restart policy in place: same container, the engine has the new values, audited", async () => {
    const name = uniqueName("limits");
    const id = await run(name, ["sleep", "3600"], ["--memory", "64m", "--pids-limit", "40"]);
    const res = await p.api("POST", `/api/v1/envs/local/containers/${name}/update`, {
      Memory: 128 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 77,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const after = inspect(name);
    expect(after.Id).toBe(id);
    expect(after.State.Running).toBe(true);
    expect(after.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(after.HostConfig.NanoCpus).toBe(500_000_000);
    expect(after.HostConfig.PidsLimit).toBe(77);
    expect(after.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    const audit = await p.api("GET", `/api/v1/audit?limit=20`);
    const entry = audit.body.find(
      (e: any) => e.action === "POST /api/v1/envs/{env}/containers/{id}/update" && e.target.includes(name),
    );
    expect(entry, JSON.stringify(audit.body.slice(0, 3))).toBeDefined();
    expect(entry.target).toContain("PidsLimit");
  });

  it("refuses hostile update bodies with a 4xx that says why, and the engine keeps what it had", async () => {
    const name = uniqueName("hostile");
    await run(name, ["sleep", "3600"], ["--memory", "64m", "--label", `ghostpanel.team=${redTeam}`]);
    const before = inspect(name).HostConfig;
    const path = `/api/v1/envs/local/containers/${name}/update`;
    const bodies: [unknown, RegExp][] = [
      [{}, /nothing to change/],
      [
        { Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm" }] },
        /Devices/,
      ],
      [{ memory: 1 << 30 }, /exact: "Memory"/],
      [{ MEMORY: 1 << 30 }, /exact: "Memory"/],
      [{ Privileged: true }, /Privileged/],
      [{ CgroupParent: "/" }, /CgroupParent/],
      [{ DeviceCgroupRules: ["a *:* rwm"] }, /DeviceCgroupRules/],
      [{ Ulimits: [{ Name: "nofile", Soft: 1, Hard: 1 }] }, /Ulimits/],
      [{ Memory: 1e300 }, /Memory/],
      [{ Memory: 2 ** 60 }, /Memory/],
      [{ Memory: -5 }, /Memory/],
      [{ Memory: 1.5 }, /Memory/],
      [{ Memory: "128m" }, /Memory/],
      [{ NanoCpus: [1] }, /NanoCpus/],
      [{ PidsLimit: true }, /PidsLimit/],
      [{ RestartPolicy: { Name: "sometimes" } }, /RestartPolicy/],
      [{ RestartPolicy: { Name: "always", Extra: 1 } }, /Extra/],
      [{ CpusetCpus: "0; rm -rf /" }, /CpusetCpus/],
      ['{"Memory":134217728,"Memory":1}', /twice/],
      ['{"__proto__":{"Privileged":true},"Memory":134217728}', /__proto__/],
      ["[1,2]", /./],
      ["not json", /./],
    ];
    for (const [body, why] of bodies) {
      for (const token of [p.token, red]) {
        const res = await as(token, "POST", path, body);
        expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
        expect(res.status, JSON.stringify(body)).toBeLessThan(500);
        expect(res.body.error.message, JSON.stringify(body)).toMatch(why);
      }
    }
    const after = inspect(name).HostConfig;
    expect(after.Memory).toBe(before.Memory);
    expect(after.Devices).toEqual(before.Devices);
    expect(after.Privileged).toBe(false);
    expect(after.CgroupParent).toBe(before.CgroupParent);
    // Below the engine's minimum: its own 4xx, passed on.
    const tiny = await p.api("POST", path, { Memory: 1024 });
    expect(tiny.status).toBe(400);
  });

  it("lets an operator update only containers of its team", async () => {
    const mine = uniqueName("mine");
    const theirs = uniqueName("theirs");
    await run(mine, ["sleep", "3600"], ["--label", `ghostpanel.team=${redTeam}`]);
    await run(theirs, ["sleep", "3600"], ["--label", `ghostpanel.team=${blueTeam}`]);
    const ok = await as(red, "POST", `/api/v1/envs/local/containers/${mine}/update`, { PidsLimit: 55 });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(inspect(mine).HostConfig.PidsLimit).toBe(55);
    const no = await as(red, "POST", `/api/v1/envs/local/containers/${theirs}/update`, { PidsLimit: 55 });
    expect(no.status).toBe(404);
    const edit = await as(red, "POST", `/api/v1/envs/local/containers/${theirs}/edit`, bodyOf(theirs));
    expect(edit.status).toBe(404);
    expect(inspect(theirs).HostConfig.PidsLimit).not.toBe(55);
  });

  it("edits env and port: made again with the same name, both networks, aliases and volume", async () => {
    const name = uniqueName("edited");
    const before = inspect(
      await run(
        name,
        ["sleep", "3600"],
        [
          ...["--network", net1, "--network-alias", "edit-alias", "-e", "GREETING=one"],
          ...["-p", "127.0.0.1::8080", "-v", `${volume}:/data`, "--restart", "unless-stopped"],
        ],
      ),
    );
    docker("network", "connect", "--alias", "second", net2, name);
    docker("exec", name, "sh", "-c", "echo kept > /data/file");
    const body = bodyOf(name);
    body.Env = body.Env.map((e: string) => (e === "GREETING=one" ? "GREETING=two" : e));
    body.HostConfig.PortBindings = { "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] };
    body.ExposedPorts = { "9090/tcp": {} };
    (body as any).NetworkingConfig = { EndpointsConfig: { [net1]: { Aliases: ["edit-alias"] } } };
    const res = await p.api("POST", `/api/v1/envs/local/containers/${name}/edit`, { ...body, name });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await jobEnd(p.token, res.body.job);
    expect(job.state, JSON.stringify(job)).toBe("done");
    const after = inspect(name);
    expect(after.Id).not.toBe(before.Id);
    expect(after.Id).toBe(job.result);
    expect(after.State.Running).toBe(true);
    expect(after.Config.Env).toContain("GREETING=two");
    expect(after.Config.Env).not.toContain("GREETING=one");
    expect(Object.keys(after.HostConfig.PortBindings)).toEqual(["9090/tcp"]);
    expect(Object.keys(after.NetworkSettings.Networks).sort()).toEqual([net1, net2].sort());
    expect(after.NetworkSettings.Networks[net1].Aliases).toContain("edit-alias");
    expect(after.NetworkSettings.Networks[net2].Aliases).toContain("second");
    expect(after.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(after.Mounts.map((m: any) => `${m.Name}:${m.Destination}`)).toContain(`${volume}:/data`);
    expect(docker("exec", name, "cat", "/data/file")).toBe("kept");
    expect(docker("ps", "-a", "-q", "--filter", `id=${before.Id}`)).toBe("");
  }, 90_000);

  it("refuses an edit that renames, and one whose new host port another container holds", async () => {
    const name = uniqueName("named");
    await run(name);
    const renamed = await p.api("POST", `/api/v1/envs/local/containers/${name}/edit`, {
      ...bodyOf(name),
      name: `${name}-x`,
    });
    expect(renamed.status).toBe(400);
    expect(renamed.body.error.message).toMatch(/keeps the name/);
    const holder = uniqueName("holder");
    await run(holder, ["sleep", "3600"], ["-p", "127.0.0.1::7070"]);
    const port = JSON.parse(docker("inspect", holder))[0].NetworkSettings.Ports["7070/tcp"][0].HostPort;
    const body = bodyOf(name);
    const res = await p.api("POST", `/api/v1/envs/local/containers/${name}/edit`, {
      ...body,
      HostConfig: {
        ...body.HostConfig,
        PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: port }] },
      },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(new RegExp(`${port}/tcp`));
  });

  it("puts the old container back when the new one cannot start", async () => {
    const name = uniqueName("rollback");
    const before = inspect(await run(name));
    {
      const body = bodyOf(name);
      body.Env = [...body.Env, "NEW=1"];
      // Made, but never started: no such program in the image.
      body.Cmd = ["/no/such/program"];
      const res = await p.api("POST", `/api/v1/envs/local/containers/${name}/edit`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const job = await jobEnd(p.token, res.body.job);
      expect(job.state).toBe("failed");
      expect(job.error).toMatch(/is kept as it was/);
    }
    const after = inspect(name);
    expect(after.Id).toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(after.Config.Env).not.toContain("NEW=1");
  }, 90_000);

  it("an operator's edit goes through engine safety: nothing a create would refuse reaches the engine", async () => {
    const name = uniqueName("redown");
    const id = await run(name, ["sleep", "3600"], ["--label", `ghostpanel.team=${redTeam}`]);
    const base = bodyOf(name);
    const attacks: Record<string, unknown>[] = [
      { HostConfig: { ...base.HostConfig, Privileged: true } },
      { HostConfig: { ...base.HostConfig, Binds: ["/:/host"] } },
      { HostConfig: { ...base.HostConfig, Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] } },
      { HostConfig: { ...base.HostConfig, CapAdd: ["SYS_ADMIN"] } },
      { HostConfig: { ...base.HostConfig, NetworkMode: "host" } },
      { HostConfig: { ...base.HostConfig, PidMode: "host" } },
      {
        HostConfig: {
          ...base.HostConfig,
          Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda" }],
        },
      },
      { HostConfig: { ...base.HostConfig, SecurityOpt: ["apparmor=unconfined"] } },
      { Labels: { ...base.Labels, "ghostpanel.team": blueTeam } },
    ];
    for (const attack of attacks) {
      const res = await as(red, "POST", `/api/v1/envs/local/containers/${name}/edit`, { ...base, ...attack });
      expect([400, 403], JSON.stringify(attack)).toContain(res.status);
      expect(res.body.error.message.length).toBeGreaterThan(5);
    }
    // Nothing was set aside or made: the same container, as it was.
    const after = inspect(name);
    expect(after.Id).toBe(id);
    expect(after.State.Running).toBe(true);
    expect(after.HostConfig.Privileged).toBe(false);
    expect(after.HostConfig.Binds ?? []).toEqual([]);
    expect(after.HostConfig.NetworkMode).not.toBe("host");
    expect(docker("ps", "-a", "-q", "--filter", `name=${name}-gp-old`)).toBe("");

    // What it may do, it may: its own env, through the same gate, team label kept.
    const fine = await as(red, "POST", `/api/v1/envs/local/containers/${name}/edit`, {
      ...base,
      Env: [...base.Env, "EDITED=yes"],
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(202);
    const job = await jobEnd(red, fine.body.job);
    expect(job.state, JSON.stringify(job)).toBe("done");
    const edited = inspect(name);
    expect(edited.Config.Env).toContain("EDITED=yes");
    expect(edited.Config.Labels["ghostpanel.team"]).toBe(redTeam);
    expect(edited.Config.Labels[labelKey]).toBe(labelValue);
    expect(edited.HostConfig.Privileged).toBe(false);
  }, 90_000);

  it("an operator cannot edit a container an admin made with SYS_ADMIN into one it keeps", async () => {
    const name = uniqueName("adminmade");
    const id = await run(
      name,
      ["sleep", "3600"],
      ["--label", `ghostpanel.team=${redTeam}`, "--cap-add", "SYS_ADMIN"],
    );
    const body = bodyOf(name);
    const res = await as(red, "POST", `/api/v1/envs/local/containers/${name}/edit`, {
      ...body,
      HostConfig: { ...body.HostConfig, CapAdd: ["SYS_ADMIN"] },
      Env: [...body.Env, "X=1"],
    });
    expect(res.status).toBe(403);
    expect(inspect(name).Id).toBe(id);
  });
});
