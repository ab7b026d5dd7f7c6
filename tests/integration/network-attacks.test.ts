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
import { cleanupNetworks, inspectNetwork, networkExists, RUN_LABELS } from "../helpers/networks.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";

/**
 * An operator attacks the network routes with bodies the checks were not written for; what counts
 * is what the ENGINE was left with (`docker network inspect`, `docker inspect`).
 */
describe("network bodies an attacker writes, against the real engine", () => {
  let p: TestPanel;
  let red = "";
  const redTeam = `netred-${RUN_ID}`;
  const blueTeam = `netblue-${RUN_ID}`;
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];
  const redNet = uniqueName("rednet");
  const blueNet = uniqueName("bluenet");
  const redBox = uniqueName("redbox");
  const blueBox = uniqueName("bluebox");

  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(p.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Sends the create body as written (duplicates and all) as red. */
  const create = (text: string) => as(red, "POST", "/api/v1/envs/local/networks", text);
  const body = (name: string, fields: string) =>
    `{"Name":"${name}","Labels":{"${labelKey}":"${labelValue}"}${fields ? `,${fields}` : ""}}`;

  beforeAll(async () => {
    p = await startTestPanel();
    for (const [username, team] of [
      ["net-red", redTeam],
      ["net-blue", blueTeam],
    ] as const) {
      const user = await p.api("POST", "/api/v1/users", {
        username,
        password: "attack-pass-1",
        role: "operator",
      });
      expect(user.status).toBe(201);
      const made = await p.api("POST", "/api/v1/teams", { name: team });
      expect((await p.api("PUT", `/api/v1/teams/${made.body.id}`, { members: [user.body.id] })).status).toBe(
        200,
      );
    }
    red = await tokenFor(p.url, { username: "net-red", password: "attack-pass-1" }, "red");
    docker("network", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${redTeam}`, redNet);
    docker("network", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${blueTeam}`, blueNet);
    runContainer(redBox, ["sleep", "3600"], ["--label", `ghostpanel.team=${redTeam}`]);
    runContainer(blueBox, ["sleep", "3600"], ["--label", `ghostpanel.team=${blueTeam}`]);
    await eventually(async () => {
      const list = (await as(red, "GET", "/api/v1/envs/local/networks")).body as { name: string }[];
      return list.some((n) => n.name === redNet) ? true : undefined;
    });
  });

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    cleanupNetworks();
  });

  it("sees the engine's own networks and its team's, and no other team's", async () => {
    const names = ((await as(red, "GET", "/api/v1/envs/local/networks")).body as { name: string }[]).map(
      (n) => n.name,
    );
    expect(names).toContain(redNet);
    expect(names).toEqual(expect.arrayContaining(["bridge", "host", "none"]));
    expect(names).not.toContain(blueNet);
    expect((await as(red, "GET", `/api/v1/envs/local/networks/${blueNet}`)).status).toBe(404);
    // Both boxes are on the engine's bridge: its inspect names red's, never blue's.
    const bridge = await as(red, "GET", "/api/v1/envs/local/networks/bridge");
    const onBridge = Object.values(bridge.body.Containers as Record<string, { Name: string }>).map(
      (c) => c.Name,
    );
    expect(onBridge).toContain(redBox);
    expect(onBridge).not.toContain(blueBox);
    const listed = (await as(red, "GET", "/api/v1/envs/local/networks")).body.find(
      (n: any) => n.name === "bridge",
    );
    expect(listed.containers.map((c: { name: string }) => c.name)).toEqual([redBox]);
  });

  it("gets a bridge of its own, labelled with its team", async () => {
    const name = uniqueName("redmade");
    const res = await create(body(name, `"Options":{"com.docker.network.bridge.enable_icc":"false"}`));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(inspectNetwork(name).Labels["ghostpanel.team"]).toBe(redTeam);
  });

  it("cannot make a network on the host's interfaces, take over a host bridge, or pass driver options past the allowlist", async () => {
    const cases: [string, RegExp][] = [
      [`"Driver":"macvlan","Options":{"parent":"eth0"}`, /Driver: "macvlan"/],
      [`"Driver":"macvlan"`, /Driver: "macvlan"/],
      [`"Driver":"ipvlan","Options":{"parent":"lo","ipvlan_mode":"l2"}`, /Driver: "ipvlan"/],
      [`"Options":{"com.docker.network.bridge.name":"docker0"}`, /com\.docker\.network\.bridge\.name/],
      // Option keys are exact: another case is another key, and not on the list.
      [`"Options":{"Com.Docker.Network.Bridge.Name":"docker0"}`, /is not allowed/],
      [`"Options":{"com.docker.network.bridge.host_binding_ipv4":"0.0.0.0"}`, /is not allowed/],
      [`"Options":{"com.docker.network.bridge.gateway_mode_ipv4":"nat-unprotected"}`, /is not allowed/],
      [`"IPAM":{"Driver":"null"}`, /IPAM\.Driver/],
      [`"IPAM":{"Options":{"com.docker.network.ipam.serial":"true"}}`, /IPAM\.Options/],
      [`"Scope":"swarm"`, /Scope: only admins/],
      [`"Ingress":true`, /Ingress: only admins/],
      [`"ConfigOnly":true`, /ConfigOnly: only admins/],
      [`"ConfigFrom":{"Network":"bridge"}`, /ConfigFrom: only admins/],
    ];
    for (const [fields, why] of cases) {
      const name = uniqueName("atk");
      const res = await create(body(name, fields));
      expect(res.status, fields).toBe(403);
      expect(res.body.error.message, fields).toMatch(why);
      expect(networkExists(name), fields).toBe(false);
    }
  });

  it("refuses keys the engine would fold into a field, duplicate keys and wrong types, before the engine sees them", async () => {
    const cases: [string, number, RegExp][] = [
      // Go's decoder takes "driver" and "Drivers"-like foldings for Driver: this schema does not.
      [`"driver":"macvlan"`, 400, /unknown field "driver" \(field names are exact: "Driver"\)/],
      [`"DRIVER":"ipvlan"`, 400, /field names are exact: "Driver"/],
      [`"Optionſ":{"com.docker.network.bridge.name":"docker0"}`, 400, /field names are exact: "Options"/],
      [`"Labelſ":{"ghostpanel.team":"${blueTeam}"}`, 400, /field names are exact: "Labels"/],
      [`"Driver":"bridge","Driver":"macvlan"`, 400, /Driver: given twice/],
      [
        `"Options":{"com.docker.network.driver.mtu":"1400","com.docker.network.driver.mtu":"9000"}`,
        400,
        /given twice/,
      ],
      [`"Driver":["macvlan"]`, 400, /Driver/],
      [`"Internal":"yes"`, 400, /Internal/],
      [`"Options":{"com.docker.network.driver.mtu":1400}`, 400, /Options/],
      [`"__proto__":{"Driver":"macvlan"}`, 400, /__proto__/],
      [`"Driver":"host"`, 400, /Driver/],
      [`"Driver":"Bridge"`, 400, /Driver/],
    ];
    for (const [fields, status, why] of cases) {
      const name = uniqueName("atk");
      const res = await create(body(name, fields));
      expect(res.status, fields).toBe(status);
      expect(res.body.error.message, fields).toMatch(why);
      expect(networkExists(name), fields).toBe(false);
    }
  });

  it("cannot label a network for another team, nor name one that reaches another endpoint", async () => {
    const name = uniqueName("atk");
    const res = await create(`{"Name":"${name}","Labels":{"ghostpanel.team":"${blueTeam}"}}`);
    expect(res.status).toBe(403);
    expect(networkExists(name)).toBe(false);
    for (const bad of ["../containers/x", "a/b", "a?b", ".hidden", ""]) {
      const r = await create(JSON.stringify({ Name: bad, Labels: RUN_LABELS }));
      expect(r.status, bad).toBe(400);
    }
  });

  it("connects only its own containers, only to its own networks (or the engine's bridge), with no driver options", async () => {
    const connect = (network: string, payload: unknown) =>
      as(red, "POST", `/api/v1/envs/local/networks/${network}/connect`, payload);
    const networksOf = (c: string) =>
      Object.keys(JSON.parse(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", c)));

    expect((await connect(redNet, { Container: blueBox })).status).toBe(404);
    expect(networksOf(blueBox)).not.toContain(redNet);
    expect((await connect(blueNet, { Container: redBox })).status).toBe(404);
    expect(networksOf(redBox)).not.toContain(blueNet);
    // By id prefix or full id, blue's network is just as missing.
    const blueId = inspectNetwork(blueNet).Id as string;
    expect((await connect(blueId, { Container: redBox })).status).toBe(404);
    expect((await connect(blueId.slice(0, 6), { Container: redBox })).status).toBe(404);

    const host = await connect("host", { Container: redBox });
    expect(host.status).toBe(403);
    expect(host.body.error.message).toMatch(/host's network is not allowed/);
    expect(networksOf(redBox)).not.toContain("host");

    const opts = await connect(redNet, {
      Container: redBox,
      EndpointConfig: { DriverOpts: { "com.example": "x" } },
    });
    expect(opts.status).toBe(403);
    const link = await connect(redNet, { Container: redBox, EndpointConfig: { Links: [`${blueBox}:b`] } });
    expect(link.status).toBe(403);
    expect(networksOf(redBox)).not.toContain(redNet);
    const folded = await connect(redNet, { Container: redBox, endpointconfig: { DriverOpts: { a: "b" } } });
    expect(folded.status).toBe(400);

    expect((await connect(redNet, { Container: redBox, EndpointConfig: { Aliases: ["red"] } })).status).toBe(
      204,
    );
    expect(networksOf(redBox)).toContain(redNet);
  });

  it("cannot disconnect, remove or prune what is not its team's", async () => {
    docker("network", "connect", blueNet, blueBox);
    const disconnect = await as(red, "POST", `/api/v1/envs/local/networks/${blueNet}/disconnect`, {
      Container: blueBox,
    });
    expect(disconnect.status).toBe(404);
    expect(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", blueBox)).toContain(blueNet);
    const fromBridge = await as(red, "POST", "/api/v1/envs/local/networks/bridge/disconnect", {
      Container: blueBox,
    });
    expect(fromBridge.status).toBe(404);

    expect((await as(red, "DELETE", `/api/v1/envs/local/networks/${blueNet}`)).status).toBe(404);
    const bridge = await as(red, "DELETE", "/api/v1/envs/local/networks/bridge");
    expect(bridge.status).toBe(403);
    expect(networkExists(blueNet)).toBe(true);

    const prune = await as(
      red,
      "POST",
      `/api/v1/envs/local/networks/prune?label=${encodeURIComponent(RUN_LABEL)}`,
    );
    expect(prune.status).toBe(403);
    const system = await as(
      red,
      "POST",
      `/api/v1/envs/local/system/prune?label=${encodeURIComponent(RUN_LABEL)}`,
    );
    expect(system.status).toBe(403);
    expect(networkExists(blueNet)).toBe(true);
  });
});
