import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, RUN_ID, RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { RUN_LABELS } from "../helpers/networks.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { SecondEngine } from "../helpers/second-engine.ts";

/**
 * The network drivers that need more than the shared engine has: a swarm (overlay) and a parent
 * interface (macvlan, ipvlan). Both are made on a PRIVATE dockerd in its own network namespace, so
 * that neither `swarm init` nor a link under a macvlan ever touches the shared engine or the host.
 * What counts is what that engine then holds (`docker network inspect` against it).
 */
describe("overlay, macvlan and ipvlan networks on a private engine", () => {
  let engine: SecondEngine | undefined;
  let p: TestPanel;
  let operator = "";
  const team = `swarmteam-${RUN_ID}`;
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];
  const BASE = "/api/v1/envs/priv/networks";
  // The engine's own namespace holds nothing else: any private range will do.
  // Containers on a swarm's network start slowly on a busy machine.
  const SLOW = 120_000;
  const subnet = (n: number) => `10.251.${n}.0/24`;

  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(p.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const inspect = (name: string) => JSON.parse(engine!.docker("network", "inspect", name))[0];
  /** What a container started on the network gets as its IPv4 address (what the engine made of it). */
  const addressOn = (network: string) =>
    engine!.docker("run", "--rm", "--network", network, TEST_IMAGE, "ip", "-4", "-o", "addr", "show", "eth0");
  const exists = (name: string) => {
    try {
      engine!.docker("network", "inspect", name);
      return true;
    } catch {
      return false;
    }
  };
  /** A command in the private engine's network namespace (never the host's). */
  const inEngineNet = (script: string) => {
    const pid = readFileSync(join(engine!.dir, "docker.pid"), "utf8").trim();
    const res = Bun.spawnSync(["nsenter", `--net=/proc/${pid}/ns/net`, "--", "sh", "-c", script], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 10_000,
    });
    if (res.exitCode !== 0) throw new Error(`${script}: ${res.stderr.toString().trim()}`);
    return res.stdout.toString();
  };

  beforeAll(async () => {
    engine = await SecondEngine.start();
    engine.loadImage();
    engine.docker("swarm", "init", "--advertise-addr", "127.0.0.1");
    // macvlan and ipvlan need a parent link; this kernel has no dummy driver, so one end of a veth pair.
    inEngineNet(
      "ip link add gpparent type veth peer name gppeer && ip link set gpparent up && ip link set gppeer up",
    );
    p = await startTestPanel();
    expect((await p.api("POST", "/api/v1/envs", { name: "priv", url: engine.url })).status).toBe(201);
    await eventually(async () => ((await p.api("GET", BASE)).status === 200 ? true : undefined), 20_000);
    const user = await p.api("POST", "/api/v1/users", {
      username: "swarm-op",
      password: "swarm-pass-1",
      role: "operator",
    });
    expect(user.status).toBe(201);
    const made = await p.api("POST", "/api/v1/teams", { name: team });
    expect((await p.api("PUT", `/api/v1/teams/${made.body.id}`, { members: [user.body.id] })).status).toBe(
      200,
    );
    operator = await tokenFor(p.url, { username: "swarm-op", password: "swarm-pass-1" }, "swarm-op");
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    if (engine) {
      try {
        engine.docker("swarm", "leave", "--force");
      } finally {
        await engine.stop();
      }
    }
  }, 60_000);

  it(
    "lets an admin make an attachable overlay with a subnet and labels, lists it with scope swarm, and removes it",
    async () => {
      const name = uniqueName("ov-admin");
      const res = await p.api("POST", BASE, {
        Name: name,
        Driver: "overlay",
        Attachable: true,
        IPAM: { Config: [{ Subnet: subnet(1), Gateway: "10.251.1.1" }] },
        Labels: { ...RUN_LABELS, tier: "backend" },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const made = inspect(name);
      expect(made).toMatchObject({
        Id: res.body.id,
        Driver: "overlay",
        Scope: "swarm",
        Attachable: true,
        Labels: { [labelKey]: labelValue, tier: "backend" },
      });
      expect(made.IPAM.Config).toEqual([{ Subnet: subnet(1), Gateway: "10.251.1.1" }]);
      // The manager allocates a swarm network a moment after it answers, and no event says so.
      const listed = await eventually(async () => {
        const n = ((await p.api("GET", BASE)).body as any[]).find((n) => n.name === name);
        return n?.driver ? n : undefined;
      }, 15_000);
      expect(listed).toMatchObject({
        id: res.body.id,
        driver: "overlay",
        scope: "swarm",
        attachable: true,
        subnets: [{ subnet: subnet(1), gateway: "10.251.1.1", ip_range: null }],
      });
      // Attachable means a plain container may join it: the engine gives it an address in the subnet.
      const addr = addressOn(name);
      expect(addr).toContain("inet 10.251.1.");
      expect((await p.api("DELETE", `${BASE}/${res.body.id}`)).status).toBe(204);
      // A swarm manager answers once the network is out of its store; this node's copy (just used by
      // the container above) goes a moment later.
      await expect.poll(() => exists(name), { timeout: 15_000 }).toBe(false);
      await expect
        .poll(async () => ((await p.api("GET", BASE)).body as any[]).some((n) => n.name === name))
        .toBe(false);
    },
    SLOW,
  );

  it(
    "lets an operator make an overlay of their team (attachable, subnet, MTU), see it and remove it",
    async () => {
      const name = uniqueName("ov-op");
      const res = await as(operator, "POST", BASE, {
        Name: name,
        Driver: "overlay",
        Attachable: true,
        IPAM: { Config: [{ Subnet: subnet(2) }] },
        Options: { "com.docker.network.driver.mtu": "1400" },
        Labels: RUN_LABELS,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const made = inspect(name);
      expect(made).toMatchObject({ Driver: "overlay", Scope: "swarm", Attachable: true });
      expect(made.Labels).toMatchObject({ "ghostpanel.team": team, [labelKey]: labelValue });
      expect(made.Options["com.docker.network.driver.mtu"]).toBe("1400");
      expect(made.IPAM.Config[0].Subnet).toBe(subnet(2));
      const mine = await eventually(async () => {
        const n = ((await as(operator, "GET", BASE)).body as any[]).find((n) => n.name === name);
        return n?.driver ? n : undefined;
      }, 15_000);
      expect(mine, JSON.stringify(mine)).toMatchObject({ driver: "overlay", scope: "swarm" });
      expect((await as(operator, "DELETE", `${BASE}/${res.body.id}`)).status).toBe(204);
      expect(exists(name)).toBe(false);
    },
    SLOW,
  );

  it(
    "refuses an operator's overlay with options past the allowlist, and the engine never sees it",
    async () => {
      const body = (name: string, fields: string) =>
        `{"Name":"${name}","Driver":"overlay",${fields.includes('"Labels"') ? "" : `"Labels":{"${labelKey}":"${labelValue}"},`}${fields}}`;
      const cases: [string, RegExp][] = [
        // Picks the VXLAN id: another network's segment.
        [
          `"Options":{"com.docker.network.driver.overlay.vxlanid_list":"4097"}`,
          /vxlanid_list" is not allowed/,
        ],
        // The routing mesh's own network: every published port of the swarm goes through it.
        [`"Ingress":true`, /Ingress: only admins/],
        [`"Scope":"local"`, /Scope: only admins/],
        [`"ConfigFrom":{"Network":"ingress"}`, /ConfigFrom: only admins/],
        [`"IPAM":{"Driver":"null"}`, /IPAM\.Driver/],
        [`"Options":{"parent":"gpparent"}`, /"parent" is not allowed/],
        [`"Labels":{"ghostpanel.team":"someone-else"}`, /team/],
      ];
      for (const [fields, why] of cases) {
        const name = uniqueName("ov-atk");
        const res = await as(operator, "POST", BASE, body(name, fields));
        expect(res.status, fields).toBe(403);
        expect(res.body.error.message, fields).toMatch(why);
        expect(exists(name), fields).toBe(false);
      }
    },
    SLOW,
  );

  it(
    "lets an admin make a macvlan on an interface of the engine's host, which a container then joins",
    async () => {
      const name = uniqueName("mv");
      const res = await p.api("POST", BASE, {
        Name: name,
        Driver: "macvlan",
        Options: { parent: "gpparent", macvlan_mode: "bridge" },
        IPAM: { Config: [{ Subnet: subnet(3) }] },
        Labels: RUN_LABELS,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(inspect(name)).toMatchObject({
        Driver: "macvlan",
        Scope: "local",
        Options: { parent: "gpparent", macvlan_mode: "bridge" },
      });
      // The kernel made the macvlan link: the container has an address of the subnet on it.
      const addr = addressOn(name);
      expect(addr).toContain("inet 10.251.3.");
      expect((await p.api("DELETE", `${BASE}/${res.body.id}`)).status).toBe(204);
      expect(exists(name)).toBe(false);
    },
    SLOW,
  );

  it(
    "refuses an operator's macvlan or ipvlan on the host's interface (engine safety), and the engine never sees it",
    async () => {
      for (const Driver of ["macvlan", "ipvlan"]) {
        for (const Options of [{ parent: "gpparent" }, {}]) {
          const name = uniqueName(`${Driver}-atk`);
          const res = await as(operator, "POST", BASE, {
            Name: name,
            Driver,
            Options,
            IPAM: { Config: [{ Subnet: subnet(4) }] },
            Labels: RUN_LABELS,
          });
          expect(res.status, `${Driver} ${JSON.stringify(Options)}`).toBe(403);
          expect(res.body.error.code).toBe("engine_safety");
          expect(res.body.error.message).toContain(`Driver: "${Driver}"`);
          expect(exists(name)).toBe(false);
        }
      }
    },
    SLOW,
  );

  it(
    "says plainly what the engine and kernel said when they cannot make a macvlan or ipvlan (never a 500)",
    async () => {
      // No parent: the engine makes a dummy link for one, and this kernel has no dummy driver.
      const noParent = uniqueName("mv-noparent");
      const mv = await p.api("POST", BASE, { Name: noParent, Driver: "macvlan", Labels: RUN_LABELS });
      if (mv.status === 201) expect(inspect(noParent).Driver).toBe("macvlan");
      else {
        expect(mv.status, JSON.stringify(mv.body)).toBe(400);
        expect(mv.body.error.message).toMatch(/this engine cannot make macvlan networks: .+/);
        expect(exists(noParent)).toBe(false);
      }
      // ipvlan: the engine stores the network, and the kernel's refusal comes when a container joins it.
      const iv = uniqueName("iv");
      const made = await p.api("POST", BASE, {
        Name: iv,
        Driver: "ipvlan",
        Options: { parent: "gpparent", ipvlan_mode: "l2" },
        IPAM: { Config: [{ Subnet: subnet(5) }] },
        Labels: RUN_LABELS,
      });
      if (made.status !== 201) {
        expect(made.status, JSON.stringify(made.body)).toBe(400);
        expect(made.body.error.message).toMatch(/this engine cannot make ipvlan networks: .+/);
        return;
      }
      expect(inspect(iv).Driver).toBe("ipvlan");
      const box = uniqueName("ivbox");
      const created = await p.api("POST", "/api/v1/envs/priv/containers", {
        name: box,
        Image: TEST_IMAGE,
        Cmd: ["sleep", "60"],
        Labels: RUN_LABELS,
        HostConfig: { NetworkMode: iv },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const started = await p.api("POST", `/api/v1/envs/priv/containers/${created.body.id}/start`);
      if (started.status === 204) {
        // A kernel with ipvlan: the container is on it.
        expect(engine!.docker("inspect", "-f", "{{.State.Running}}", box)).toBe("true");
        return;
      }
      expect(started.status, JSON.stringify(started.body)).toBeGreaterThanOrEqual(400);
      expect(started.status).not.toBe(500);
      expect(started.body.error.message).toMatch(/ipvlan/);
      expect(engine!.docker("inspect", "-f", "{{.State.Running}}", box)).toBe("false");
    },
    SLOW,
  );
});
