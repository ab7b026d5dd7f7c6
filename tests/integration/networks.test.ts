import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupEngine, docker, eventually, RUN_LABEL, runContainer, uniqueName } from "../helpers/engine.ts";
import {
  cleanupNetworks,
  cliNetworks,
  inspectNetwork,
  networkExists,
  RUN_LABELS,
  testSubnet,
} from "../helpers/networks.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

const BASE = "/api/v1/envs/local/networks";

describe("networks on a real engine", () => {
  let p: TestPanel;

  beforeAll(async () => {
    p = await startTestPanel();
    await eventually(async () => ((await p.api("GET", BASE)).status === 200 ? true : undefined));
  });
  afterAll(async () => {
    await p.stop();
    cleanupEngine();
    cleanupNetworks();
  });

  const listed = async () => (await p.api("GET", BASE)).body as any[];
  const byName = async (name: string) => (await listed()).find((n) => n.name === name);

  it("lists what `docker network ls` lists: id, name, driver, scope, internal, IPv6; subnet and gateway as inspect gives them", async () => {
    const a = uniqueName("ls-a");
    const b = uniqueName("ls-b");
    const net = testSubnet(0);
    docker("network", "create", "--label", RUN_LABEL, "--subnet", net.subnet, "--gateway", net.gateway, a);
    docker("network", "create", "--label", RUN_LABEL, "--internal", b);
    await eventually(async () => ((await byName(b)) ? true : undefined));
    const ours = (await listed()).filter((n) => n.name === a || n.name === b || n.builtin);
    const cli = cliNetworks().filter((n) => [a, b, "bridge", "host", "none"].includes(n.Name));
    expect(ours.map((n) => n.name).sort()).toEqual(cli.map((n) => n.Name).sort());
    for (const c of cli) {
      const n = ours.find((o) => o.name === c.Name);
      expect({
        id: n.id,
        driver: n.driver,
        scope: n.scope,
        internal: String(n.internal),
        ipv6: String(n.ipv6),
      }).toEqual({
        id: c.ID,
        driver: c.Driver,
        scope: c.Scope,
        internal: c.Internal,
        ipv6: c.IPv6,
      });
      const ipam = inspectNetwork(c.ID).IPAM.Config ?? [];
      expect(n.subnets).toEqual(
        ipam.map((x: any) => ({
          subnet: x.Subnet ?? "",
          gateway: x.Gateway || null,
          ip_range: x.IPRange || null,
        })),
      );
    }
    expect((await byName(a)).subnets).toEqual([{ subnet: net.subnet, gateway: net.gateway, ip_range: null }]);
  });

  it("creates bridge networks with subnet, gateway, IP range, internal, attachable, IPv6 and labels, as the engine then shows them", async () => {
    const name = uniqueName("make");
    const net = testSubnet(1);
    const v6 = `fd00:${(Math.floor(Math.random() * 0xfff) + 1).toString(16)}::/64`;
    const res = await p.api("POST", BASE, {
      Name: name,
      Driver: "bridge",
      Internal: true,
      Attachable: true,
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: net.subnet, Gateway: net.gateway, IPRange: net.range }, { Subnet: v6 }] },
      Options: { "com.docker.network.driver.mtu": "1400" },
      Labels: { ...RUN_LABELS, tier: "back" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const engine = inspectNetwork(name);
    expect(engine.Id).toBe(res.body.id);
    expect(engine).toMatchObject({ Driver: "bridge", Internal: true, Attachable: true, EnableIPv6: true });
    expect(engine.Labels).toMatchObject({ tier: "back" });
    expect(engine.Options).toEqual({ "com.docker.network.driver.mtu": "1400" });
    expect(engine.IPAM.Config[0]).toMatchObject({
      Subnet: net.subnet,
      Gateway: net.gateway,
      IPRange: net.range,
    });
    expect(engine.IPAM.Config[1]).toMatchObject({ Subnet: v6 });
    // The answer's list already has it: the route reads the list again before answering.
    expect((await byName(name))?.id).toBe(res.body.id);
  });

  it("lets an admin make macvlan and ipvlan networks, or says plainly that the engine's kernel cannot", async () => {
    for (const Driver of ["macvlan", "ipvlan"]) {
      const name = uniqueName(Driver);
      const res = await p.api("POST", BASE, { Name: name, Driver, Labels: RUN_LABELS });
      if (res.status === 201) expect(inspectNetwork(name).Driver).toBe(Driver);
      else {
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body.error.message).toContain(`this engine cannot make ${Driver} networks`);
        expect(networkExists(name)).toBe(false);
      }
    }
  });

  it("keeps the networks topic live: a network made and removed with the CLI arrives and leaves, and a CLI connect shows at once", async () => {
    const client = new StreamClient(p.url, p.token, ["networks:local"]);
    try {
      const snapshot = await client.next((f) => f.t === "networks:local" && f.k === "snapshot");
      expect(snapshot.d.map((n: { name: string }) => n.name)).toEqual(
        expect.arrayContaining(["bridge", "host", "none"]),
      );
      const name = uniqueName("live");
      const id = docker("network", "create", "--label", RUN_LABEL, name);
      const up = await client.next((f) => f.k === "upsert" && f.d.id === id);
      expect(up.d).toMatchObject({ name, driver: "bridge", scope: "local", builtin: false });
      // A connect made with the CLI sends only a network event: attached at once, not at the 30 s reconcile.
      const box = uniqueName("live-box");
      const boxId = runContainer(box);
      docker("network", "connect", id, box);
      await eventually(
        async () => ((await byName(name))?.containers[0]?.id === boxId ? true : undefined),
        5_000,
      );
      docker("network", "disconnect", id, box);
      await eventually(async () => ((await byName(name))?.containers.length === 0 ? true : undefined), 5_000);
      docker("network", "rm", id);
      await client.next((f) => f.k === "remove" && f.d.id === id);
    } finally {
      client.close();
    }
  });

  it("connects a container with aliases and a static IP, shows it attached, and disconnects it", async () => {
    const name = uniqueName("conn");
    const net = testSubnet(2);
    const made = await p.api("POST", BASE, {
      Name: name,
      IPAM: { Config: [{ Subnet: net.subnet }] },
      Labels: RUN_LABELS,
    });
    expect(made.status).toBe(201);
    const container = uniqueName("conn-c");
    const cid = runContainer(container);
    const res = await p.api("POST", `${BASE}/${name}/connect`, {
      Container: container,
      EndpointConfig: { Aliases: ["db", "primary"], IPAMConfig: { IPv4Address: net.ip(77) } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    const endpoint = JSON.parse(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid))[name];
    expect(endpoint.IPAddress).toBe(net.ip(77));
    expect(endpoint.Aliases).toEqual(expect.arrayContaining(["db", "primary"]));
    const attached = await eventually(async () => {
      const n = await byName(name);
      return n?.containers.length ? n.containers : undefined;
    });
    expect(attached).toEqual([{ id: cid, name: container, state: "running" }]);
    const inspect = await p.api("GET", `${BASE}/${made.body.id}`);
    expect(Object.keys(inspect.body.Containers)).toEqual([cid]);

    // Taken address: the engine's refusal, as a 4xx a person can read.
    const second = uniqueName("conn-d");
    runContainer(second);
    const clash = await p.api("POST", `${BASE}/${name}/connect`, {
      Container: second,
      EndpointConfig: { IPAMConfig: { IPv4Address: net.ip(77) } },
    });
    expect(clash.status).toBeGreaterThanOrEqual(400);
    expect(clash.status).toBeLessThan(500);

    expect((await p.api("POST", `${BASE}/${name}/disconnect`, { Container: container })).status).toBe(204);
    expect(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid)).not.toContain(name);
  }, 60_000);

  it("refuses to remove a network with containers attached, naming them; removes it once they are gone", async () => {
    const name = uniqueName("busy");
    const id = docker("network", "create", "--label", RUN_LABEL, name);
    const a = uniqueName("busy-a");
    const b = uniqueName("busy-b");
    runContainer(a, ["sleep", "3600"], ["--network", name]);
    runContainer(b, ["sleep", "3600"], ["--network", name]);
    await eventually(async () => ((await byName(name))?.containers.length === 2 ? true : undefined));
    const res = await p.api("DELETE", `${BASE}/${name}`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(
      new RegExp(`^network "${name}" still has 2 containers attached: `),
    );
    expect(res.body.error.message).toContain(a);
    expect(res.body.error.message).toContain(b);
    expect(networkExists(name)).toBe(true);
    docker("rm", "-f", a, b);
    expect((await p.api("DELETE", `${BASE}/${id.slice(0, 12)}`)).status).toBe(204);
    expect(networkExists(name)).toBe(false);
  }, 60_000);

  it("answers a taken name, a bad subnet, a gateway outside it, an overlap and overlay without a swarm with a 4xx that says so", async () => {
    const name = uniqueName("taken");
    const net = testSubnet(3);
    expect(
      (
        await p.api("POST", BASE, {
          Name: name,
          IPAM: { Config: [{ Subnet: net.subnet }] },
          Labels: RUN_LABELS,
        })
      ).status,
    ).toBe(201);
    const again = await p.api("POST", BASE, { Name: name, Labels: RUN_LABELS });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(`a network named "${name}" already exists`);
    expect(cliNetworks().filter((n) => n.Name === name)).toHaveLength(1);

    const bad = await p.api("POST", BASE, {
      Name: uniqueName("bad"),
      IPAM: { Config: [{ Subnet: "10.0.0.300/24" }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("IPAM.Config.0.Subnet: not a subnet in CIDR form");
    const outside = await p.api("POST", BASE, {
      Name: uniqueName("bad"),
      IPAM: { Config: [{ Subnet: net.subnet, Gateway: "192.0.2.1" }] },
    });
    expect(outside.status).toBe(400);
    expect(outside.body.error.message).toContain(`192.0.2.1 is not inside the subnet ${net.subnet}`);
    const overlap = await p.api("POST", BASE, {
      Name: uniqueName("overlap"),
      IPAM: { Config: [{ Subnet: net.subnet }] },
      Labels: RUN_LABELS,
    });
    expect(overlap.status).toBe(409);
    expect(overlap.body.error.message).toMatch(/overlap/i);
    const overlay = await p.api("POST", BASE, {
      Name: uniqueName("ov"),
      Driver: "overlay",
      Labels: RUN_LABELS,
    });
    expect(overlay.status).toBe(400);
    expect(overlay.body.error.message).toContain("overlay networks need a swarm");
    // The engine has no IPv6 pool of its own before 27.0: without a subnet it can find none.
    const v6 = await p.api("POST", BASE, { Name: uniqueName("v6"), EnableIPv6: true, Labels: RUN_LABELS });
    if (v6.status !== 201) {
      expect(v6.status).toBe(400);
      expect(v6.body.error.message).toContain("give the network an IPv6 subnet");
    }
    const unknown = await p.api("GET", `${BASE}/${uniqueName("nothing")}`);
    expect(unknown.status).toBe(404);
  });

  it("previews a prune limited by label, and the prune removes exactly what the preview named", async () => {
    const only = `ghostpanel.prune-test=${uniqueName("prune")}`;
    const labels = ["--label", RUN_LABEL, "--label", only];
    const unusedA = uniqueName("pr-a");
    const unusedB = uniqueName("pr-b");
    const used = uniqueName("pr-used");
    const stoppedOnly = uniqueName("pr-stopped");
    const outside = uniqueName("pr-outside");
    docker("network", "create", ...labels, unusedA);
    docker("network", "create", ...labels, unusedB);
    docker("network", "create", ...labels, used);
    docker("network", "create", ...labels, stoppedOnly);
    docker("network", "create", "--label", RUN_LABEL, outside);
    runContainer(uniqueName("pr-c"), ["sleep", "3600"], ["--network", used]);
    docker(
      "create",
      "--label",
      RUN_LABEL,
      "--name",
      uniqueName("pr-s"),
      "--network",
      stoppedOnly,
      "ghostpanel-test/busybox:latest",
    );
    await eventually(async () => ((await byName(outside)) ? true : undefined));
    const q = `?label=${encodeURIComponent(only)}`;
    const preview = await p.api("GET", `${BASE}/prune${q}`);
    expect(preview.status).toBe(200);
    const names = (r: { networks: { name: string }[] }) => r.networks.map((n) => n.name).sort();
    // A network only a stopped container names has no endpoint: the engine prunes it too.
    expect(names(preview.body)).toEqual([unusedA, unusedB, stoppedOnly].sort());
    const done = await p.api("POST", `${BASE}/prune${q}`);
    expect(done.status).toBe(200);
    expect(names(done.body)).toEqual(names(preview.body));
    for (const n of [unusedA, unusedB, stoppedOnly]) expect(networkExists(n), n).toBe(false);
    for (const n of [used, outside]) expect(networkExists(n), n).toBe(true);
    expect((await p.api("GET", `${BASE}/prune?label=bad%20key`)).status).toBe(400);
  }, 60_000);
});
