import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  createContainer,
  docker,
  eventually,
  PREFIX,
  RUN_LABEL,
  runContainer,
  uniqueName,
} from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { cleanupNetworks, networkExists } from "../helpers/networks.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

const BASE = "/api/v1/envs/local";

/** Docker's units.HumanSize: four significant digits, decimal units. */
function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** A kind's line as `docker system df` prints it. */
function cliLine(k: { count: number; active: number; size: number; reclaimable: number }, percent: boolean) {
  const pct = percent && k.size > 0 ? ` (${Math.floor((k.reclaimable * 100) / k.size)}%)` : "";
  return {
    TotalCount: String(k.count),
    Active: String(k.active),
    Size: humanSize(k.size),
    Reclaimable: `${humanSize(k.reclaimable)}${pct}`,
  };
}

describe("system: engine info, disk use, events and prune on a real engine", () => {
  let p: TestPanel;
  let proxy: EngineProxy;
  let red = "";
  const redTeam = `sysred-${process.pid}`;
  const blueTeam = `sysblue-${process.pid}`;
  const volume = uniqueName("df-vol");

  beforeAll(async () => {
    proxy = new EngineProxy(`/tmp/${PREFIX}system.sock`);
    await proxy.start();
    p = await startTestPanel(["--engine", proxy.url]);
    await eventually(async () =>
      (await p.api("GET", "/healthz")).body.engines[0].status === "up" ? true : undefined,
    );
    const user = await p.api("POST", "/api/v1/users", {
      username: "sys-red",
      password: "system-pass-1",
      role: "operator",
    });
    const team = await p.api("POST", "/api/v1/teams", { name: redTeam });
    expect((await p.api("PUT", `/api/v1/teams/${team.body.id}`, { members: [user.body.id] })).status).toBe(
      200,
    );
    red = await tokenFor(p.url, { username: "sys-red", password: "system-pass-1" }, "red");
  });
  afterAll(async () => {
    await p.stop();
    await proxy.stop();
    cleanupEngine();
    cleanupNetworks();
    docker("volume", "rm", "-f", volume);
  });

  it("gives the engine's /info and /version as they are", async () => {
    const res = await p.api("GET", `${BASE}/system/info`);
    expect(res.status).toBe(200);
    expect(res.body.info.ID).toBe(docker("info", "-f", "{{.ID}}"));
    expect(res.body.version.ApiVersion).toBe(docker("version", "-f", "{{.Server.APIVersion}}"));
  });

  it("counts disk use per kind as `docker system df` does, and keeps the answer briefly", async () => {
    // Something of every kind with bytes in it: a volume with 300 kB, a stopped container that wrote 200 kB.
    const writer = uniqueName("df-writer");
    docker("volume", "create", "--label", RUN_LABEL, volume);
    runContainer(
      writer,
      ["sh", "-c", "dd if=/dev/zero of=/data/f bs=1k count=300 && dd if=/dev/zero of=/f bs=1k count=200"],
      ["-v", `${volume}:/data`],
    );
    await eventually(() =>
      docker("inspect", "-f", "{{.State.Status}}", writer) === "exited" ? true : undefined,
    );
    // Other tests change the engine meanwhile: compared when two CLI reads around the panel's agree.
    await eventually(
      async () => {
        const read = () => docker("system", "df", "--format", "{{json .}}");
        const before = read();
        const res = await p.api("GET", `${BASE}/system/df?fresh=1`);
        if (read() !== before) return undefined;
        const cli = Object.fromEntries(
          before.split("\n").map((l) => {
            const { Type, ...rest } = JSON.parse(l);
            return [Type, rest];
          }),
        );
        expect({
          Images: cliLine(res.body.images, true),
          Containers: cliLine(res.body.containers, true),
          "Local Volumes": cliLine(res.body.volumes, true),
          "Build Cache": cliLine(res.body.build_cache, false),
        }).toEqual(cli);
        expect(res.body.volumes.size).toBeGreaterThanOrEqual(300 * 1024);
        expect(res.body.containers.reclaimable).toBeGreaterThanOrEqual(200 * 1024);
        return true;
      },
      30_000,
      "a quiet moment to compare with docker system df",
    );
    const asked = proxy.count(/\/system\/df/);
    const first = await p.api("GET", `${BASE}/system/df`);
    const again = await p.api("GET", `${BASE}/system/df`);
    expect(again.body.read_at).toBe(first.body.read_at);
    expect(proxy.count(/\/system\/df/)).toBeLessThanOrEqual(asked + 1);
  }, 60_000);

  it("streams events from the one /events stream: each viewer sees what it may, filters work", async () => {
    const streams = proxy.count(/\/events/);
    const admin = new StreamClient(p.url, p.token, ["events:local"]);
    const member = new StreamClient(p.url, red, ["events:local"]);
    const third = new StreamClient(p.url, p.token, ["events:local"]);
    try {
      await admin.next((f) => f.k === "recent");
      const recent = await member.next((f) => f.k === "recent");
      expect(
        recent.d.every(
          (e: { type: string; attributes: Record<string, string> }) =>
            e.attributes["ghostpanel.team"] === redTeam || e.type === "image" || e.type === "network",
        ),
      ).toBe(true);
      await third.next((f) => f.k === "recent");
      const mine = uniqueName("ev-red");
      const theirs = uniqueName("ev-blue");
      const mineId = runContainer(mine, ["sleep", "3600"], ["--label", `ghostpanel.team=${redTeam}`]);
      const theirsId = runContainer(theirs, ["sleep", "3600"], ["--label", `ghostpanel.team=${blueTeam}`]);
      const redNet = uniqueName("ev-net");
      const netId = docker(
        "network",
        "create",
        "--label",
        RUN_LABEL,
        "--label",
        `ghostpanel.team=${redTeam}`,
        redNet,
      );
      const blueNet = uniqueName("ev-bnet");
      const blueNetId = docker(
        "network",
        "create",
        "--label",
        RUN_LABEL,
        "--label",
        `ghostpanel.team=${blueTeam}`,
        blueNet,
      );

      await admin.next((f) => f.k === "event" && f.d.id === theirsId && f.d.action === "start");
      await admin.next((f) => f.k === "event" && f.d.id === blueNetId && f.d.action === "create");
      const started = await member.next(
        (f) => f.k === "event" && f.d.id === mineId && f.d.action === "start",
      );
      expect(started.d).toMatchObject({
        type: "container",
        name: mine,
        container: mineId,
        container_name: mine,
      });
      await member.next(
        (f) => f.k === "event" && f.d.type === "network" && f.d.id === netId && f.d.action === "create",
      );
      // Theirs came before the admin saw blue's network; the member was sent none of it.
      await third.next((f) => f.k === "event" && f.d.id === blueNetId);
      expect(member.frames.filter((f) => f.d?.id === theirsId || f.d?.id === blueNetId)).toEqual([]);
      expect(proxy.count(/\/events/)).toBe(streams);

      const filtered = await p.api("GET", `${BASE}/events?type=container&action=start&container=${mine}`);
      expect(filtered.body.map((e: { id: string; action: string }) => [e.id, e.action])).toEqual([
        [mineId, "start"],
      ]);
      const asMember = await fetch(`${p.url}${BASE}/events?container=${theirs}`, {
        headers: { authorization: `Bearer ${red}` },
      });
      expect(await asMember.json()).toEqual([]);
    } finally {
      admin.close();
      member.close();
      third.close();
    }
  }, 60_000);

  it("previews a prune limited by label and prunes exactly that, nothing of anyone else's", async () => {
    const only = `ghostpanel.sysprune=${uniqueName("only")}`;
    const labels = ["--label", only];
    const stopped = uniqueName("sp-stopped");
    const stoppedId = createContainer(stopped, ["true"], labels);
    const running = uniqueName("sp-running");
    runContainer(running, ["sleep", "3600"], labels);
    const unlabelled = uniqueName("sp-other");
    createContainer(unlabelled, ["true"]);
    const net = uniqueName("sp-net");
    docker("network", "create", "--label", RUN_LABEL, "--label", only, net);
    const otherNet = uniqueName("sp-othernet");
    docker("network", "create", "--label", RUN_LABEL, otherNet);
    await eventually(async () =>
      ((await p.api("GET", `${BASE}/networks`)).body as { name: string }[]).some((n) => n.name === otherNet)
        ? true
        : undefined,
    );
    const q = `?label=${encodeURIComponent(only)}`;
    const preview = await p.api("GET", `${BASE}/system/prune${q}`);
    expect(preview.status).toBe(200);
    expect(preview.body.containers.map((c: { name: string }) => c.name)).toEqual([stopped]);
    expect(preview.body.networks.map((n: { name: string }) => n.name)).toEqual([net]);
    expect(preview.body.images).toEqual([]);
    expect(preview.body.volumes).toEqual([]);
    expect(preview.body.build_cache).toEqual([]);
    expect(preview.body.skipped).toEqual([expect.stringContaining("build cache")]);

    const done = await p.api("POST", `${BASE}/system/prune${q}`);
    expect(done.status).toBe(200);
    expect(done.body.containers.map((c: { id: string }) => c.id)).toEqual([stoppedId]);
    expect(done.body.networks.map((n: { name: string }) => n.name)).toEqual([net]);
    expect(docker("ps", "-a", "-q", "--filter", `name=^${stopped}$`)).toBe("");
    expect(docker("ps", "-q", "--filter", `name=^${running}$`)).not.toBe("");
    expect(docker("ps", "-a", "-q", "--filter", `name=^${unlabelled}$`)).not.toBe("");
    expect(networkExists(net)).toBe(false);
    expect(networkExists(otherNet)).toBe(true);
    expect((await p.api("GET", `${BASE}/system/prune?until=soon`)).status).toBe(400);
  }, 60_000);

  it("keeps callers waiting for an engine slower than Bun's 10 s idle limit, on one disk usage walk", async () => {
    const asked = proxy.count(/\/system\/df/);
    proxy.freeze();
    const slow = p.api("GET", `${BASE}/system/df?fresh=1`);
    const again = p.api("GET", `${BASE}/system/df?fresh=1`);
    await Bun.sleep(20_000);
    proxy.thaw();
    const [res, second] = await Promise.all([slow, again]);
    expect(res.status).toBe(200);
    expect(res.body.images.count).toBeGreaterThan(0);
    // One walk for both: the engine refuses a second while one runs. A connection the panel had
    // dropped would have been retried by the client, and asked the engine again.
    expect(second.body).toEqual(res.body);
    expect(proxy.count(/\/system\/df/)).toBe(asked + 1);
    await eventually(async () =>
      (await p.api("GET", "/healthz")).body.engines[0].status === "up" ? true : undefined,
    );
  }, 60_000);
});
