import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import { cleanupEngine, docker, eventually, PREFIX, runContainer, uniqueName } from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

describe("live stats through the panel", () => {
  let p: TestPanel;
  let burner = "";
  let idle = "";

  beforeAll(async () => {
    p = await startTestPanel();
    burner = runContainer(uniqueName("burn"), ["sh", "-c", "yes > /dev/null"], ["--network", "none"]);
    idle = runContainer(uniqueName("idle"), ["sleep", "3600"], ["--network", "none"]);
    await eventually(async () => {
      const list = (await p.api("GET", "/api/v1/envs/local/containers")).body as {
        id: string;
        state: string;
      }[];
      return list.filter((c) => [burner, idle].includes(c.id) && c.state === "running").length === 2
        ? 1
        : undefined;
    });
  });
  afterAll(async () => {
    await p.stop();
    cleanupEngine();
  });

  it("answers GET …/stats with the newest figures per running container, from the cgroup files here", async () => {
    const res = await p.api("GET", "/api/v1/envs/local/stats");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-stats-source")).toBe("cgroup");
    const b = res.body.find((s: { id: string }) => s.id === burner);
    expect(b.cpu_percent).toBeGreaterThan(50);
    expect(b.mem_limit).toBeGreaterThan(b.mem_usage);
    expect(b.pids).toBeGreaterThanOrEqual(1);
    const i = res.body.find((s: { id: string }) => s.id === idle);
    expect(i.cpu_percent).toBeLessThan(5);
    for (const k of ["net_rx", "net_tx", "blk_read", "blk_write"]) expect(typeof i[k]).toBe("number");
    const stopped = await p.api("GET", "/api/v1/envs/nowhere/stats");
    expect(stopped.status).toBe(404);
  });

  it("streams a keyframe, then deltas the shared decoder applies, small on the wire", async () => {
    const s = new StreamClient(p.url, p.token, ["stats:local"]);
    const other = new StreamClient(p.url, p.token, ["stats:local"]);
    await Promise.all([s.open(), other.open()]);
    const table = new StatsTable();
    const key = await s.next((f) => f.k === "key");
    expect(table.apply(key.k, key.d)).toBe(true);
    let bytes = 0;
    let applied = 0;
    s.ws.addEventListener("message", (e) => {
      bytes += (e.data as ArrayBuffer).byteLength;
    });
    const from = s.frames.length;
    await s.next((f) => f.k === "delta", 5_000, from);
    await eventually(
      () => {
        for (const f of s.frames.slice(from + applied)) {
          expect(table.apply(f.k, f.d)).toBe(true);
          applied++;
        }
        return applied >= 4 ? true : undefined;
      },
      15_000,
      "four frames",
    );
    const views = table.views();
    expect(views.find((v) => v.id === burner)?.cpu_percent).toBeGreaterThan(50);
    expect(views.find((v) => v.id === idle)).toBeDefined();
    expect(table.source).toBe("cgroup");
    const containers = views.length;
    const perSample = bytes / (applied * containers);
    // docker's own stats JSON is ~2 KB per container-sample.
    expect(perSample).toBeLessThan(60);
    // A second watcher shares the same ticks: it too sees the same sequence numbers.
    await other.next((f) => f.k === "delta" && f.d.s === table.seq, 5_000);
    s.close();
    other.close();
  });

  it("keeps history: the last 15 minutes at full rate for a container and for the host", async () => {
    const h = await eventually(async () => {
      const res = await p.api("GET", `/api/v1/envs/local/stats/history?id=${burner}&range=15m`);
      return res.status === 200 && res.body.t.length >= 3 ? res.body : undefined;
    });
    expect(h.step_ms).toBeGreaterThanOrEqual(900);
    expect(h.series.cpu_percent).toHaveLength(h.t.length);
    expect(Math.max(...h.series.cpu_percent.filter((v: number | null) => v !== null))).toBeGreaterThan(50);
    expect(h.t.at(-1)).toBeGreaterThan(Date.now() / 1000 - 10);
    const host = await p.api("GET", "/api/v1/envs/local/stats/history?id=host&range=15m");
    expect(host.status).toBe(200);
    expect(host.body.series.mem_usage.at(-1)).toBeGreaterThan(0);
    const none = await p.api("GET", `/api/v1/envs/local/stats/history?id=${"0".repeat(64)}&range=1h`);
    expect(none.status).toBe(404);
    // A known container with no 10 s bucket closed yet: an empty series, not an error.
    const fresh = runContainer(uniqueName("fresh"), ["sleep", "3600"], ["--network", "none"]);
    const empty = await eventually(async () => {
      const r = await p.api("GET", `/api/v1/envs/local/stats/history?id=${fresh}&range=24h`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(empty.t).toEqual([]);
    const bad = await p.api("GET", `/api/v1/envs/local/stats/history?id=${burner}&range=2y`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/range/);
  });

  it("releases a removed container's history in memory at once (its 10 s averages stay in SQLite)", async () => {
    const gone = runContainer(uniqueName("gone"), ["sleep", "3600"], ["--network", "none"]);
    const url = `/api/v1/envs/local/stats/history?id=${gone}&range=15m`;
    await eventually(
      async () => {
        const r = await p.api("GET", url);
        return r.status === 200 && r.body.t.length >= 2 ? true : undefined;
      },
      30_000,
      "two ticks of history",
    );
    docker("rm", "-f", gone);
    // Not minutes later: as soon as the panel has seen it go, no tick of it is left in memory. What
    // remains is what the longer ranges show too: whole 10 s averages from SQLite, if one was written.
    await eventually(async () => {
      const r = await p.api("GET", url);
      if (r.status === 404) return true;
      const onlyAverages = r.body.step_ms === 10_000 && r.body.t.every((t: number) => t % 10 === 0);
      return r.status === 200 && (r.body.t.length === 0 || onlyAverages) ? true : undefined;
    }, 30_000);
  }, 90_000);

  it("reports the host's own figures, by REST and on host:<env>", async () => {
    const res = await p.api("GET", "/api/v1/envs/local/host");
    expect(res.status).toBe(200);
    expect(res.body.ncpu).toBeGreaterThanOrEqual(1);
    expect(res.body.mem_total).toBeGreaterThan(res.body.mem_used);
    expect(res.body.load).toHaveLength(3);
    expect(res.body.disks.find((d: { path: string }) => d.path === "/").total).toBeGreaterThan(0);
    const s = new StreamClient(p.url, p.token, ["host:local"]);
    await s.open();
    const f = await s.next((x) => x.k === "host");
    expect(f.d.cpu_percent).toBeGreaterThanOrEqual(0);
    s.close();
  });

  it("serves Prometheus metrics to a bearer token only", async () => {
    expect((await fetch(`${p.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${p.url}/metrics`, { headers: { cookie: p.cookie } })).status).toBe(401);
    const res = await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${p.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('ghostpanel_engine_up{env="local"} 1');
    expect(text).toMatch(/# TYPE ghostpanel_container_cpu_percent gauge/);
    const line = text
      .split("\n")
      .find((l) => l.startsWith("ghostpanel_container_cpu_percent") && l.includes(burner));
    expect(line).toMatch(/\{env="local",id="[0-9a-f]{64}",name="gptest-[^"]+"\} \d+(\.\d+)?$/);
    expect(Number(line!.split(" ").at(-1))).toBeGreaterThan(50);
    expect(text).toMatch(/^ghostpanel_resident_memory_bytes \d+$/m);
  });
});

// An engine reached over TCP may be on another host: its containers' cgroup files are not ours to
// read, so the figures come from the engine's streaming stats API, opened only while watched.
describe("live stats from the engine's stats API", () => {
  let p: TestPanel;
  let proxy: EngineProxy;
  let burner = "";

  beforeAll(async () => {
    proxy = new EngineProxy(`/tmp/${PREFIX}stats.sock`, "/var/run/docker.sock", { tcp: true });
    await proxy.start();
    p = await startTestPanel(["--engine", proxy.tcpUrl]);
    burner = runContainer(uniqueName("burn-api"), ["sh", "-c", "yes > /dev/null"], ["--network", "none"]);
    await eventually(async () => {
      const list = (await p.api("GET", "/api/v1/envs/local/containers")).body as { id: string }[];
      return list.some((c) => c.id === burner) ? 1 : undefined;
    });
  });
  afterAll(async () => {
    await p.stop();
    await proxy.stop();
    cleanupEngine();
  });

  it("reads one stream per running container, and the figures match the same expectations", async () => {
    const before = proxy.count(/\/stats/);
    const res = await p.api("GET", "/api/v1/envs/local/stats");
    expect(res.headers.get("x-stats-source")).toBe("docker");
    const b = res.body.find((s: { id: string }) => s.id === burner);
    expect(b.cpu_percent).toBeGreaterThan(50);
    expect(b.mem_usage).toBeGreaterThan(0);
    const running = (await p.api("GET", "/api/v1/envs/local/containers?state=running")).body.length;
    const opened = proxy.requests.slice(before).filter((r) => /\/stats/.test(r));
    expect(opened.every((r) => /stream=(1|true)/.test(r))).toBe(true);
    expect(opened.length).toBe(running);
    // Asked again: the streams are already open, none is added.
    await p.api("GET", "/api/v1/envs/local/stats");
    expect(proxy.count(/\/stats/) - before).toBe(running);
  });
});
