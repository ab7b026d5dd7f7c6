import { join } from "node:path";
import { LABEL, SOCKET } from "./lib/engine.ts";
import { concurrent, type Hit, jsonListHit, sequential } from "./lib/load.ts";
import { login, type Panel, startPanel, waitForContainers } from "./lib/panel.ts";
import { memoryOf, type Target } from "./lib/process.ts";
import { log, percentile, round, tempDir } from "./lib/util.ts";

export interface ListSettings {
  containers: number;
  warmup: number;
  sequential: number;
  concurrentLoops: number;
  concurrentRequests: number;
  rounds: number;
}

export interface SideResult {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  requests_per_s: number;
  sequential_requests: number;
  concurrent_requests: number;
  body_bytes: number;
}

export interface ListResult {
  containers_on_engine: number;
  panel_tls: "off";
  settings: ListSettings;
  engine: SideResult;
  panel: SideResult;
  /** engine / panel for latencies, panel / engine for throughput: how many times faster the panel is. */
  ratios: { p50: number; p99: number; requests_per_s: number };
  /**
   * The same list for a non-admin (an operator whose team owns half of the bench's containers, by
   * name) and filtered (`?label=<the bench's>&state=running`, as the admin): sequential latency only,
   * with their ratio to the admin's whole list in the same rounds (1 = as fast).
   */
  non_admin: SideResult & { items: number; p50_vs_admin: number; p99_vs_admin: number };
  filtered: SideResult & { items: number; p50_vs_admin: number; p99_vs_admin: number };
  /** p50 of the panel's /healthz with the same client: the floor under any panel answer */
  panel_healthz_p50_ms: number;
  /** the panel's VmRSS / VmHWM after the load */
  panel_rss_after_mib: number;
  panel_rss_peak_mib: number;
}

/**
 * (a) GET /api/v1/envs/local/containers on the panel vs the engine's own GET /containers/json?all=1
 * over its unix socket, with the same client. Rounds alternate the two sides so drifting machine load
 * hits both alike.
 */
export async function benchContainerList(target: Target, s: ListSettings): Promise<ListResult> {
  const dir = tempDir("list");
  // Plain HTTP, as the engine's socket is: this compares the work behind the answer, not TLS.
  const panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir });
  try {
    await waitForContainers(panel, LABEL, s.containers, 60_000);
    const engineUrl = "http://localhost/containers/json?all=1";
    const panelUrl = `${panel.url}/api/v1/envs/local/containers`;
    const engineHit = jsonListHit(engineUrl, { unix: SOCKET }, s.containers);
    const panelHit = jsonListHit(
      panelUrl,
      { headers: { authorization: `Bearer ${panel.token}` } },
      s.containers,
    );

    const body = async (url: string, init: RequestInit & { unix?: string }) =>
      await (await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })).text();
    const engineBody = await body(engineUrl, { unix: SOCKET });
    const engineCount = (JSON.parse(engineBody) as unknown[]).length;
    const engineBytes = Buffer.byteLength(engineBody);
    const panelBytes = Buffer.byteLength(
      await body(panelUrl, { headers: { authorization: `Bearer ${panel.token}` } }),
    );

    log(`container list: warm-up (${s.warmup} requests per side)`);
    await sequential(engineHit, s.warmup);
    await sequential(panelHit, s.warmup);
    await concurrent(engineHit, s.concurrentLoops, s.warmup, 30_000);
    await concurrent(panelHit, s.concurrentLoops, s.warmup, 30_000);

    // For scale, in the same rounds: the panel's /healthz, the same client and server path with
    // almost no work behind it. list p50 − healthz p50 ≈ what the list itself costs.
    const healthUrl = `${panel.url}/healthz`;
    const healthHit: Hit = async () => {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${healthUrl}: ${res.status}`);
    };
    await sequential(healthHit, s.warmup);

    const half = Math.floor(s.containers / 2);
    const viewerToken = await teamViewer(panel, half);
    const nonAdminHit = jsonListHit(panelUrl, { headers: { authorization: `Bearer ${viewerToken}` } }, half);
    const filteredUrl = `${panelUrl}?label=${encodeURIComponent(LABEL)}&state=running`;
    const filteredHit = jsonListHit(
      filteredUrl,
      { headers: { authorization: `Bearer ${panel.token}` } },
      s.containers,
    );
    const count = async (url: string, token: string) =>
      (JSON.parse(await body(url, { headers: { authorization: `Bearer ${token}` } })) as unknown[]).length;
    const nonAdminItems = await count(panelUrl, viewerToken);
    const filteredItems = await count(filteredUrl, panel.token);
    await sequential(nonAdminHit, s.warmup);
    await sequential(filteredHit, s.warmup);

    const sides = {
      engine: newSide(),
      panel: newSide(),
      healthz: newSide(),
      nonAdmin: newSide(),
      filtered: newSide(),
    };
    for (let r = 0; r < s.rounds; r++) {
      log(`container list: round ${r + 1}/${s.rounds}`);
      for (const [name, hit] of [
        ["engine", engineHit],
        ["panel", panelHit],
        ["healthz", healthHit],
        ["nonAdmin", nonAdminHit],
        ["filtered", filteredHit],
      ] as [keyof typeof sides, Hit][]) {
        sides[name].samples.push(...(await sequential(hit, Math.ceil(s.sequential / s.rounds))));
      }
      for (const [name, hit] of [
        ["engine", engineHit],
        ["panel", panelHit],
      ] as [keyof typeof sides, Hit][]) {
        const run = await concurrent(
          hit,
          s.concurrentLoops,
          Math.ceil(s.concurrentRequests / s.rounds),
          60_000,
        );
        sides[name].count += run.count;
        sides[name].ms += run.ms;
      }
    }
    const mem = memoryOf(panel.child.pid);
    const engine = summarise(sides.engine, engineBytes);
    const panelSide = summarise(sides.panel, panelBytes);
    const versusAdmin = (side: SideResult, items: number) => ({
      ...side,
      items,
      p50_vs_admin: round(side.p50_ms / panelSide.p50_ms),
      p99_vs_admin: round(side.p99_ms / panelSide.p99_ms),
    });
    return {
      containers_on_engine: engineCount,
      panel_tls: "off",
      settings: s,
      engine,
      panel: panelSide,
      ratios: {
        p50: round(engine.p50_ms / panelSide.p50_ms),
        p99: round(engine.p99_ms / panelSide.p99_ms),
        requests_per_s: round(panelSide.requests_per_s / engine.requests_per_s),
      },
      non_admin: versusAdmin(summarise(sides.nonAdmin, 0), nonAdminItems),
      filtered: versusAdmin(summarise(sides.filtered, 0), filteredItems),
      panel_healthz_p50_ms: round(percentile(sides.healthz.samples, 50), 3),
      panel_rss_after_mib: round(mem.rssKiB / 1024, 1),
      panel_rss_peak_mib: round(mem.hwmKiB / 1024, 1),
    };
  } finally {
    await panel.child.stop();
  }
}

/**
 * An operator in a team that owns `count` of the bench's containers by name: their list is the
 * panel's whole list filtered through what their teams own. Returns their API token.
 */
async function teamViewer(panel: Panel, count: number): Promise<string> {
  const names = (
    (await panel.api(`/api/v1/envs/local/containers?label=${encodeURIComponent(LABEL)}`)) as {
      name: string;
    }[]
  )
    .map((c) => c.name)
    .sort()
    .slice(0, count);
  const json = (body: unknown) => ({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const user = (await panel.api("/api/v1/users", json({ ...VIEWER, role: "operator" }))) as { id: number };
  const team = (await panel.api("/api/v1/teams", json({ name: "bench-team" }))) as { id: number };
  await panel.api(`/api/v1/teams/${team.id}`, {
    ...json({
      members: [user.id],
      resources: names.map((ref) => ({ env: "local", kind: "container", ref })),
    }),
    method: "PUT",
  });
  const { cookie, csrf } = await login(panel.url, VIEWER);
  const made = (await fetch(`${panel.url}/api/v1/tokens`, {
    ...json({ name: "bench-viewer" }),
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
    signal: AbortSignal.timeout(10_000),
  }).then((r) => r.json())) as { token: string };
  return made.token;
}

const VIEWER = { username: "bench-viewer", password: "bench-viewer-not-secret" };

export function newSide() {
  return { samples: [] as number[], count: 0, ms: 0 };
}

export function summarise(side: ReturnType<typeof newSide>, bodyBytes: number): SideResult {
  return {
    p50_ms: round(percentile(side.samples, 50), 3),
    p99_ms: round(percentile(side.samples, 99), 3),
    mean_ms: round(side.samples.reduce((a, b) => a + b, 0) / side.samples.length, 3),
    requests_per_s: round((side.count / side.ms) * 1000, 1),
    sequential_requests: side.samples.length,
    concurrent_requests: side.count,
    body_bytes: bodyBytes,
  };
}
