/**
 * bench/stats (issue #3): live stats on `stats:local`, with 100 running containers (10 of them
 * burning a little CPU, the rest idle).
 *
 *   (a) bytes per container-sample on the WebSocket, steady state and keyframe, vs the JSON lines of
 *       the engine's own GET /containers/{id}/stats?stream=1 for the same containers
 *   (b) latency from sample to client, p50/p99, with 1, 100 and 1,000 clients, vs 1 client
 *   (c) CPU seconds per 1,000 container-samples of panel + dockerd + containerd + shims, cgroup
 *       source vs Docker-stats source (the panel reaching the engine over loopback TCP)
 *   (d) panel RSS with 100 clients subscribed, vs the same panel idle with none and the minimal server
 *
 * Each part has its own panel (`--tls off`, except (d), which runs from the seeded data dir with
 * `--tls auto` like the idle RSS benchmark) and returns its figures; bench/run.ts prints them.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baselineRss, type Seed } from "./idle-rss.ts";
import {
  BURN_CMD,
  IMAGE,
  LABEL,
  listByLabel,
  mapLimit,
  removeAll,
  SOCKET,
  startContainers,
} from "./lib/engine.ts";
import { type Panel, panelAt, serveCommand, startPanel, waitForContainers } from "./lib/panel.ts";
import {
  type CpuSnapshot,
  cpuSince,
  cpuSnapshot,
  firstAnswer,
  memoryOf,
  panelTarget,
  processesBy,
  start,
  type Target,
} from "./lib/process.ts";
import { type ClientGroup, type ClientRecords, KIND, startClients } from "./lib/stats-clients.ts";
import { startTcpProxy } from "./lib/tcp-proxy.ts";
import { type Burst, startTickWatch, type TickWatch, type TickWatcher } from "./lib/tick-watch.ts";
import {
  defer,
  freePort,
  isStopping,
  log,
  mean,
  percentile,
  round,
  runCleanups,
  sleep,
  tempDir,
  waitFor,
} from "./lib/util.ts";
import { chunks, clock } from "./lib/worker.ts";

export interface StatsSettings {
  /** Running bench containers, and how many of them burn CPU (BURN_CMD). */
  containers: number;
  burners: number;
  /** The panel's stats interval (its default). */
  intervalMs: number;
  /** (a) ticks counted after the subscribe keyframe, and seconds of each engine stats stream read. */
  bytesTicks: number;
  dockerStreamSeconds: number;
  /** (b) client counts, ticks measured for each, clients per client process. */
  clientCounts: number[];
  latencyTicks: number;
  clientsPerProcess: number;
  /** (c) each CPU window. */
  cpuWindowSeconds: number;
  /** (d) steady time with the clients connected, and the idle time before. */
  rssSteadySeconds: number;
  idleMs: number;
}

/** Every helper process exits by itself after this, whatever happens to the bench. */
const WORKER_MAX_MS = 10 * 60_000;

/**
 * Makes the running bench containers `s.containers`, `s.burners` of them burners: the idle ones the
 * run started (`sleepers`) make up the rest, and any beyond are removed.
 */
export async function prepareMix(sleepers: string[], s: StatsSettings): Promise<string[]> {
  const keep = s.containers - s.burners;
  if (sleepers.length < keep) {
    sleepers = [...sleepers, ...(await startContainers(keep - sleepers.length, { tag: "idle-" }))];
  }
  if (sleepers.length > keep) {
    await removeAll(sleepers.slice(keep));
    sleepers = sleepers.slice(0, keep);
  }
  const burners = await startContainers(s.burners, { cmd: BURN_CMD, tag: "burn-" });
  const ids = [...sleepers, ...burners];
  const running = (await listByLabel(LABEL)).filter((c) => c.State === "running").length;
  if (running !== s.containers) throw new Error(`${running} bench containers running, not ${s.containers}`);
  return ids;
}

// ---- shared ----

/** A panel on the bench's engine (or `engineUrl`) that shows every bench container and has figures for them. */
async function statsPanel(target: Target, dir: string, s: StatsSettings, engineUrl?: string): Promise<Panel> {
  const panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir, engineUrl });
  try {
    await waitForContainers(panel, LABEL, s.containers, 60_000);
    await waitForFigures(panel, s.containers, 60_000);
    return panel;
  } catch (err) {
    await panel.child.stop();
    throw err;
  }
}

/**
 * GET …/stats answers once every running container has two samples (or after 5 s): asked until it
 * has figures for at least `count` containers. Gives the source the panel uses.
 */
async function waitForFigures(panel: Panel, count: number, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let seen = 0;
  while (performance.now() < deadline && !isStopping()) {
    const res = await fetch(`${panel.url}/api/v1/envs/local/stats`, {
      headers: { authorization: `Bearer ${panel.token}` },
      tls: { rejectUnauthorized: false },
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { cpu_percent: number }[];
    if (!res.ok) throw new Error(`GET /api/v1/envs/local/stats: ${res.status} ${JSON.stringify(body)}`);
    seen = body.length;
    if (seen >= count) return res.headers.get("x-stats-source") ?? "?";
    await sleep(500);
  }
  throw new Error(`the panel had figures for ${seen} of ${count} containers after ${timeoutMs} ms`);
}

function wsUrl(panel: Panel): string {
  return `${panel.url.replace(/^http/, "ws")}/api/v1/stream?topics=stats:local`;
}

/** Bytes of a server-to-client WebSocket frame header for a payload of `n` bytes (unmasked). */
function wsHeader(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

// ---- (a) bytes per container-sample ----

export interface BytesResult {
  ticks: number;
  ticks_missed: number;
  /** containers in the client's table, mean over the ticks (other running containers on the engine count too) */
  containers_in_frames: number;
  source: string;
  delta_frames: number;
  /** every SUB_KEYFRAME ticks the panel sends everyone a keyframe: counted apart */
  periodic_keyframes: number;
  delta_bytes: number;
  periodic_keyframe_bytes: number;
  /** delta bytes / container-samples of the delta ticks: the steady state */
  delta_bytes_per_sample: number;
  /** every byte of the minute (deltas and periodic keyframes) / every container-sample */
  all_bytes_per_sample: number;
  /** the same with each message's WebSocket header (2–10 bytes; no compression is negotiated) */
  all_wire_bytes_per_sample: number;
  keyframe_bytes: number;
  keyframe_containers: number;
  keyframe_bytes_per_container: number;
  refused_deltas: number;
  docker: {
    containers: number;
    seconds: number;
    lines: number;
    /** mean bytes of one JSON line (one container-sample), the first line of each stream left out */
    bytes_per_sample: number;
  };
  /** Docker's bytes per sample / the panel's: how many times fewer bytes the panel sends. */
  ratios: { delta: number; all: number; keyframe: number };
}

/** Mean length of the engine's stats lines (one per container-sample), reading every stream at once. */
async function dockerStatsLineBytes(ids: string[], seconds: number) {
  const lengths: number[] = [];
  let firstLines = 0;
  await mapLimit(ids, ids.length, async (id) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), seconds * 1000);
    const mine: number[] = [];
    try {
      const res = await fetch(`http://localhost/containers/${id}/stats?stream=1`, {
        unix: SOCKET,
        signal: abort.signal,
      });
      if (!res.ok || !res.body) throw new Error(`GET /containers/${id}/stats: ${res.status}`);
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of chunks(res.body)) {
        pending += decoder.decode(chunk, { stream: true });
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          mine.push(Buffer.byteLength(pending.slice(0, nl + 1)));
          pending = pending.slice(nl + 1);
          nl = pending.indexOf("\n");
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
    }
    // The first line has no previous CPU figures (precpu_stats empty): the steady lines follow.
    if (mine.length > 1) {
      firstLines++;
      lengths.push(...mine.slice(1));
    } else lengths.push(...mine);
  });
  if (lengths.length === 0) throw new Error("the engine's stats streams gave no line");
  return { lines: lengths.length, bytes: mean(lengths), streamsWithMoreThanOne: firstLines };
}

export async function benchStatsBytes(target: Target, ids: string[], s: StatsSettings): Promise<BytesResult> {
  const dir = tempDir("stats-bytes");
  log(`stats bytes: reading ${ids.length} engine stats streams for ${s.dockerStreamSeconds} s`);
  const docker = await dockerStatsLineBytes(ids, s.dockerStreamSeconds);

  const panel = await statsPanel(target, dir, s);
  let rec: ClientRecords;
  try {
    const client = await startClients({
      url: wsUrl(panel),
      token: panel.token,
      count: 1,
      validate: "all",
      dir,
      name: "bytes-client",
      maxMs: WORKER_MAX_MS,
    });
    log(`stats bytes: subscribed; counting ${s.bytesTicks} ticks`);
    await sleep((s.bytesTicks + 1.5) * s.intervalMs);
    rec = await client.stop();
  } finally {
    await panel.child.stop();
  }

  const first = rec.k.indexOf(KIND.key);
  if (first < 0) throw new Error("no keyframe");
  const key = { s: rec.s[first]!, b: rec.b[first]!, rows: rec.r[first]! };
  const bySeq = new Map<number, number>();
  for (let i = first + 1; i < rec.k.length; i++) if (rec.k[i] !== KIND.other) bySeq.set(rec.s[i]!, i);
  let missed = 0;
  const delta = { frames: 0, bytes: 0, rows: 0 };
  const periodic = { frames: 0, bytes: 0, rows: 0 };
  let wire = 0;
  for (let seq = key.s + 1; seq <= key.s + s.bytesTicks; seq++) {
    const i = bySeq.get(seq);
    if (i === undefined) {
      missed++;
      continue;
    }
    const into = rec.k[i] === KIND.delta ? delta : periodic;
    into.frames++;
    into.bytes += rec.b[i]!;
    into.rows += rec.r[i]!;
    wire += rec.b[i]! + wsHeader(rec.b[i]!);
  }
  const samples = delta.rows + periodic.rows;
  const deltaPer = delta.bytes / delta.rows;
  const allPer = (delta.bytes + periodic.bytes) / samples;
  const keyPer = key.b / key.rows;
  return {
    ticks: delta.frames + periodic.frames,
    ticks_missed: missed,
    containers_in_frames: round(samples / (delta.frames + periodic.frames), 1),
    source: rec.source,
    delta_frames: delta.frames,
    periodic_keyframes: periodic.frames,
    delta_bytes: delta.bytes,
    periodic_keyframe_bytes: periodic.bytes,
    delta_bytes_per_sample: round(deltaPer, 3),
    all_bytes_per_sample: round(allPer, 3),
    all_wire_bytes_per_sample: round(wire / samples, 3),
    keyframe_bytes: key.b,
    keyframe_containers: key.rows,
    keyframe_bytes_per_container: round(keyPer, 1),
    refused_deltas: rec.refused,
    docker: {
      containers: ids.length,
      seconds: s.dockerStreamSeconds,
      lines: docker.lines,
      bytes_per_sample: round(docker.bytes, 1),
    },
    ratios: {
      delta: round(docker.bytes / deltaPer, 1),
      all: round(docker.bytes / allPer, 1),
      keyframe: round(docker.bytes / keyPer, 2),
    },
  };
}

// ---- (b) latency from sample to client ----

export interface Percentiles {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  n: number;
}

export interface LatencyPhase {
  clients: number;
  client_processes: number;
  connect_s: number;
  ticks: number;
  /** frames (client × tick) that never came: skipped by the panel as too slow, or lost */
  frames_missed: number;
  /** ticks whose read burst the tick watcher found */
  ticks_timed: number;
  /**
   * arrival − the tick's start (its first cgroup file read): sample to client, from the oldest
   * sample in the frame
   */
  sample_to_client: Percentiles;
  /** the same, over the ticks that sent deltas only (not the keyframe every client gets every 30th tick) */
  sample_to_client_delta_ticks: Percentiles;
  /** the frame's first arrival at any client − the tick's start: reading, encoding, the first send */
  tick_to_first_client: Percentiles;
  /** arrival − the first arrival of the same frame at any client: the fan-out spread */
  spread: Percentiles;
  /** arrival − the probe's arrival (the probe subscribed first, in a process of its own) */
  after_probe: Percentiles;
  /** the probe's own sample-to-client: the floor */
  probe_sample_to_client: Percentiles;
  /**
   * tick start to the end of its read burst (the last poll that saw reads; reads just after the
   * tick, within 20 ms, count in: a rough figure)
   */
  tick_read_ms: Percentiles;
  /** CPU use in the window, % of one CPU */
  panel_cpu_percent: number;
  clients_cpu_percent: number;
  busiest_client_process_cpu_percent: number;
  panel_rss_mib: number;
  closes: Record<string, number>;
  /** one line per tick: its reads, then first / p50 / last arrival, all from the tick's start */
  per_tick: string[];
}

export interface LatencyResult {
  containers: number;
  interval_ms: number;
  phases: LatencyPhase[];
  tick_watch: { polls: number; gap_p50_ms: number; gap_p99_ms: number; gap_max_ms: number };
  /** sample-to-client p50/p99 of each phase / those of the 1-client phase */
  ratios: { clients: number; p50: number; p99: number }[];
}

function percentiles(xs: number[]): Percentiles {
  return {
    p50_ms: round(percentile(xs, 50), 2),
    p99_ms: round(percentile(xs, 99), 2),
    max_ms: round(xs.length ? Math.max(...xs) : Number.NaN, 2),
    n: xs.length,
  };
}

export async function benchStatsLatency(target: Target, s: StatsSettings): Promise<LatencyResult> {
  const dir = tempDir("stats-latency");
  const panel = await statsPanel(target, dir, s);
  const phases: { clients: number; processes: number; connectS: number; window: Window }[] = [];
  let ticks: TickWatch;
  try {
    // A tick reads several files per container (about 14 reads each here): at least one read per
    // container tells a tick from stray reads (a WebSocket message, an engine event).
    const watcher: TickWatcher = await startTickWatch(panel.child.pid, dir, s.containers, WORKER_MAX_MS);
    try {
      for (const n of s.clientCounts) {
        if (isStopping()) throw new Error("the run is ending");
        phases.push(await latencyPhase(panel, dir, n, s));
        await sleep(1_000);
      }
    } finally {
      ticks = await watcher.stop();
    }
  } finally {
    await panel.child.stop();
  }
  const results = phases.map((p) => analyseLatency(p, ticks.bursts, s));
  const one = results.find((r) => r.clients === 1) ?? results[0]!;
  return {
    containers: s.containers,
    interval_ms: s.intervalMs,
    phases: results,
    tick_watch: {
      polls: ticks.polls,
      gap_p50_ms: ticks.gap_p50_ms,
      gap_p99_ms: ticks.gap_p99_ms,
      gap_max_ms: ticks.gap_max_ms,
    },
    ratios: results.map((r) => ({
      clients: r.clients,
      p50: round(r.sample_to_client.p50_ms / one.sample_to_client.p50_ms),
      p99: round(r.sample_to_client.p99_ms / one.sample_to_client.p99_ms),
    })),
  };
}

interface Window {
  t0: number;
  t1: number;
  probe: ClientRecords;
  groups: ClientRecords[];
  panelCpu: number;
  clientCpu: number[];
  panelRssKiB: number;
}

async function latencyPhase(
  panel: Panel,
  dir: string,
  n: number,
  s: StatsSettings,
): Promise<{ clients: number; processes: number; connectS: number; window: Window }> {
  const processes = Math.ceil(n / s.clientsPerProcess);
  log(`stats latency: ${n} clients in ${processes} process(es), plus the probe`);
  const started: ClientGroup[] = [];
  try {
    const t0 = performance.now();
    const probe = await startClients({
      url: wsUrl(panel),
      token: panel.token,
      count: 1,
      validate: "all",
      dir,
      name: `latency-${n}-probe`,
      maxMs: WORKER_MAX_MS,
    });
    started.push(probe);
    const groups = await Promise.all(
      Array.from({ length: processes }, (_, p) => {
        const count = Math.floor(n / processes) + (p < n % processes ? 1 : 0);
        return startClients({
          url: wsUrl(panel),
          token: panel.token,
          count,
          validate: "first",
          dir,
          name: `latency-${n}-${p}`,
          maxMs: WORKER_MAX_MS,
        }).then((g) => {
          started.push(g);
          return g;
        });
      }),
    );
    const connectS = (performance.now() - t0) / 1000;
    await sleep(1.5 * s.intervalMs);
    const pids = groups.map((g) => g.pid);
    const panelBefore = cpuSnapshot([panel.child.pid]);
    const clientsBefore = pids.map((pid) => cpuSnapshot([pid]));
    const w0 = clock();
    await sleep(s.latencyTicks * s.intervalMs);
    const w1 = clock();
    const seconds = (performance.now() - panelBefore.at) / 1000;
    const panelCpu = cpuSince(panelBefore, [panel.child.pid]) / seconds;
    const clientCpu = pids.map((pid, i) => cpuSince(clientsBefore[i]!, [pid]) / seconds);
    const panelRssKiB = memoryOf(panel.child.pid).rssKiB;
    const probeRec = await probe.stop();
    const groupRecs = await Promise.all(groups.map((g) => g.stop()));
    return {
      clients: n,
      processes,
      connectS,
      window: {
        t0: w0,
        t1: w1,
        probe: probeRec,
        groups: groupRecs,
        panelCpu,
        clientCpu,
        panelRssKiB,
      },
    };
  } catch (err) {
    await Promise.all(started.map((g) => g.worker.child.stop()));
    throw err;
  }
}

function analyseLatency(
  phase: { clients: number; processes: number; connectS: number; window: Window },
  bursts: Burst[],
  s: StatsSettings,
): LatencyPhase {
  const w = phase.window;
  // The frames of the window: the ticks whose frame reached the probe inside it.
  const probeAt = new Map<number, number>();
  const probeKind = new Map<number, number>();
  for (let i = 0; i < w.probe.k.length; i++) {
    const t = w.probe.t[i]!;
    if (w.probe.k[i] !== KIND.other && t >= w.t0 && t <= w.t1 && !probeAt.has(w.probe.s[i]!)) {
      probeAt.set(w.probe.s[i]!, t);
      probeKind.set(w.probe.s[i]!, w.probe.k[i]!);
    }
  }
  const arrivals = new Map<number, number[]>();
  for (const seq of probeAt.keys()) arrivals.set(seq, []);
  const closes: Record<string, number> = {};
  for (const g of w.groups) {
    for (let i = 0; i < g.k.length; i++) {
      if (g.k[i] === KIND.other) continue;
      arrivals.get(g.s[i]!)?.push(g.t[i]!);
    }
    for (const [code, count] of Object.entries(g.closes)) closes[code] = (closes[code] ?? 0) + count;
  }
  // Each tick's start: the last read burst that began before the frame's first arrival, less than
  // an interval before it. `from` is the last poll without reads, `seen` the first with: the
  // burst began in between, taken as the middle.
  const sorted = [...bursts].sort((a, b) => a.from - b.from);
  const tickOf = (firstArrival: number): Burst | undefined => {
    let found: Burst | undefined;
    for (const b of sorted) {
      if (b.seen > firstArrival) break;
      found = b;
    }
    return found && firstArrival - found.from < s.intervalMs * 0.8 ? found : undefined;
  };
  const abs: number[] = [];
  const absDelta: number[] = [];
  const toFirst: number[] = [];
  const spread: number[] = [];
  const afterProbe: number[] = [];
  const probeAbs: number[] = [];
  const reads: number[] = [];
  const perTick: string[] = [];
  let missed = 0;
  let timed = 0;
  for (const [seq, probeT] of probeAt) {
    const ts = arrivals.get(seq)!;
    const tickMissed = phase.clients - ts.length;
    missed += tickMissed;
    const first = Math.min(probeT, ...ts);
    for (const t of ts) {
      spread.push(t - first);
      afterProbe.push(t - probeT);
    }
    const keyTick = probeKind.get(seq) === KIND.key ? 1 : 0;
    const tick = tickOf(first);
    const what = `s ${seq} ${keyTick ? "keyframe" : "delta"}${tickMissed ? `, ${tickMissed} missed` : ""}`;
    if (!tick) {
      perTick.push(`${what}: no read burst found`);
      continue;
    }
    timed++;
    const startT = (tick.from + tick.seen) / 2;
    reads.push(tick.end - startT);
    probeAbs.push(probeT - startT);
    const mine = ts.map((t) => t - startT);
    abs.push(...mine);
    if (!keyTick) absDelta.push(...mine);
    toFirst.push(first - startT);
    const f = (v: number) => v.toFixed(1);
    perTick.push(
      `${what}: read ${f(tick.end - startT)}, first ${f(first - startT)}, p50 ${f(percentile(mine, 50))}, last ${f(Math.max(...mine, first - startT))} ms`,
    );
  }
  return {
    clients: phase.clients,
    client_processes: phase.processes,
    connect_s: round(phase.connectS, 1),
    ticks: probeAt.size,
    frames_missed: missed,
    ticks_timed: timed,
    sample_to_client: percentiles(abs),
    sample_to_client_delta_ticks: percentiles(absDelta),
    tick_to_first_client: percentiles(toFirst),
    spread: percentiles(spread),
    after_probe: percentiles(afterProbe),
    probe_sample_to_client: percentiles(probeAbs),
    tick_read_ms: percentiles(reads),
    panel_cpu_percent: round(w.panelCpu * 100, 1),
    clients_cpu_percent: round(sum(w.clientCpu) * 100, 1),
    busiest_client_process_cpu_percent: round(Math.max(...w.clientCpu) * 100, 1),
    panel_rss_mib: round(w.panelRssKiB / 1024, 1),
    closes,
    per_tick: perTick,
  };
}

// ---- (c) CPU per 1,000 container-samples ----

export interface CpuWindow {
  seconds: number;
  /** CPU seconds in the window */
  panel_s: number;
  dockerd_s: number;
  containerd_s: number;
  shims_s: number;
  shim_processes: number;
}

export interface CpuSide {
  source: string;
  window: CpuWindow;
  /** container-samples the subscriber received in the window */
  samples: number;
  /** panel + engine CPU in the window, less the idle engine's for as long */
  net_cpu_s: number;
  cpu_s_per_1000_samples: number;
  /** the panel's own share of that */
  panel_cpu_s_per_1000_samples: number;
  /** the engine's share: its CPU less its idle CPU (may come out below 0: noise) */
  engine_net_cpu_s_per_1000_samples: number;
}

export interface CpuResult {
  window_seconds: number;
  containers: number;
  /**
   * dockerd + containerd + shims with no panel, before, between and after the two sides; their mean
   * is subtracted, their spread (max − min) says how noisy the engine is on its own
   */
  idle: { windows: CpuWindow[]; engine_s: number; spread_s: number };
  cgroup: CpuSide;
  docker: CpuSide & {
    /** the loopback TCP proxy's CPU in the window (not counted: a remote engine has no such thing) */
    proxy_cpu_s: number;
    proxy_bytes_from_engine: number;
  };
  /** cgroup / docker, per 1,000 container-samples */
  ratio: number;
}

const ENGINE_ROLES = {
  dockerd: (c: string) => c === "dockerd",
  containerd: (c: string) => c === "containerd",
  shims: (c: string) => c.startsWith("containerd-shim"),
};

function engineSnapshot(extra: number[]): { snap: CpuSnapshot; roles: Record<string, number[]> } {
  const roles = processesBy(ENGINE_ROLES);
  if (!roles.dockerd!.length || !roles.containerd!.length) {
    throw new Error("dockerd or containerd is not visible in /proc (an engine in another PID namespace?)");
  }
  return { snap: cpuSnapshot([...Object.values(roles).flat(), ...extra]), roles };
}

async function cpuWindow(seconds: number, panelPid?: number): Promise<CpuWindow> {
  const before = engineSnapshot(panelPid ? [panelPid] : []);
  await sleep(seconds * 1000);
  const roles = processesBy(ENGINE_ROLES);
  const elapsed = (performance.now() - before.snap.at) / 1000;
  // Scaled to the nominal window: sleeps overrun by a few ms.
  const scale = seconds / elapsed;
  return {
    seconds,
    panel_s: round((panelPid ? cpuSince(before.snap, [panelPid]) : 0) * scale, 3),
    dockerd_s: round(cpuSince(before.snap, roles.dockerd!) * scale, 3),
    containerd_s: round(cpuSince(before.snap, roles.containerd!) * scale, 3),
    shims_s: round(cpuSince(before.snap, roles.shims!) * scale, 3),
    shim_processes: roles.shims!.length,
  };
}

const engineCpu = (w: CpuWindow) => w.dockerd_s + w.containerd_s + w.shims_s;

/** One subscriber on `panel`, then a CPU window; `beforeWindow` runs just before it starts. */
async function cpuSide(
  panel: Panel,
  dir: string,
  name: string,
  s: StatsSettings,
  beforeWindow?: () => void,
): Promise<CpuSide> {
  const client = await startClients({
    url: wsUrl(panel),
    token: panel.token,
    count: 1,
    validate: "all",
    dir,
    name: `cpu-${name}-client`,
    maxMs: WORKER_MAX_MS,
  });
  let rec: ClientRecords;
  let window: CpuWindow;
  let t0: number;
  let t1: number;
  try {
    await sleep(3 * s.intervalMs);
    beforeWindow?.();
    log(`stats CPU: ${name} source, ${s.cpuWindowSeconds} s window`);
    t0 = clock();
    window = await cpuWindow(s.cpuWindowSeconds, panel.child.pid);
    t1 = clock();
  } finally {
    rec = await client.stop();
  }
  let samples = 0;
  for (let i = 0; i < rec.k.length; i++) {
    if (rec.k[i] !== KIND.other && rec.t[i]! > t0 && rec.t[i]! <= t1) samples += rec.r[i]!;
  }
  return {
    source: rec.source,
    window,
    samples,
    net_cpu_s: 0,
    cpu_s_per_1000_samples: 0,
    panel_cpu_s_per_1000_samples: round((window.panel_s / samples) * 1000, 4),
    engine_net_cpu_s_per_1000_samples: 0,
  };
}

/**
 * Net CPU: the window's panel + engine CPU less the idle engine's. Noise can make the engine's part
 * come out below idle; the panel's own CPU (absent from the idle windows) is the floor.
 */
function finishSide(side: CpuSide, idleEngineS: number): CpuSide {
  const net = Math.max(side.window.panel_s + engineCpu(side.window) - idleEngineS, side.window.panel_s);
  return {
    source: side.source,
    window: side.window,
    samples: side.samples,
    net_cpu_s: round(net, 3),
    cpu_s_per_1000_samples: round((net / side.samples) * 1000, 4),
    panel_cpu_s_per_1000_samples: side.panel_cpu_s_per_1000_samples,
    engine_net_cpu_s_per_1000_samples: round(
      ((engineCpu(side.window) - idleEngineS) / side.samples) * 1000,
      4,
    ),
  };
}

export async function benchStatsCpu(target: Target, s: StatsSettings): Promise<CpuResult> {
  const dir = tempDir("stats-cpu");
  const idle: CpuWindow[] = [];
  const idleWindow = async (when: string) => {
    log(`stats CPU: idle engine, no panel, ${when} (${s.cpuWindowSeconds} s)`);
    // Whatever the engine still does for a panel just stopped (closing streams) settles first.
    await sleep(2_000);
    idle.push(await cpuWindow(s.cpuWindowSeconds));
  };
  await idleWindow("before");

  const cgroupDir = join(dir, "cgroup");
  const cgroupPanel = await statsPanel(target, mkdir(cgroupDir), s);
  let cgroup: CpuSide;
  try {
    cgroup = await cpuSide(cgroupPanel, cgroupDir, "cgroup", s);
  } finally {
    await cgroupPanel.child.stop();
  }
  await idleWindow("between");

  const dockerDir = mkdir(join(dir, "docker"));
  const proxy = await startTcpProxy(SOCKET, freePort(), dockerDir, WORKER_MAX_MS);
  let docker: CpuSide;
  let proxyCpu = 0;
  let proxyBytes = 0;
  try {
    const dockerPanel = await statsPanel(target, dockerDir, s, proxy.url);
    try {
      let proxyBefore: CpuSnapshot | undefined;
      docker = await cpuSide(dockerPanel, dockerDir, "docker", s, () => {
        proxyBefore = cpuSnapshot([proxy.pid]);
      });
      if (proxyBefore) proxyCpu = cpuSince(proxyBefore, [proxy.pid]);
    } finally {
      await dockerPanel.child.stop();
    }
  } finally {
    proxyBytes = (await proxy.stop()).bytes_from_engine;
  }
  await idleWindow("after");

  const engines = idle.map(engineCpu);
  const idleEngine = mean(engines);
  const c = finishSide(cgroup, idleEngine);
  const d = finishSide(docker, idleEngine);
  return {
    window_seconds: s.cpuWindowSeconds,
    containers: s.containers,
    idle: {
      windows: idle,
      engine_s: round(idleEngine, 3),
      spread_s: round(Math.max(...engines) - Math.min(...engines), 3),
    },
    cgroup: c,
    docker: { ...d, proxy_cpu_s: round(proxyCpu, 3), proxy_bytes_from_engine: proxyBytes },
    ratio: round(c.cpu_s_per_1000_samples / d.cpu_s_per_1000_samples, 4),
  };
}

function mkdir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

// ---- (d) RSS with clients ----

export interface StatsRssResult {
  tls: string;
  containers: number;
  clients: number;
  steady_seconds: number;
  idle_rss_mib: number;
  rss_mib: number;
  /** decimal megabytes, as the issue's budget is written */
  rss_mb: number;
  peak_rss_mib: number;
  baseline_rss_mib: number;
  ratios: { idle: number; baseline: number };
  frames_missed: number;
}

export async function benchStatsRss(
  target: Target,
  seed: Seed | undefined,
  baselineBinary: string,
  s: StatsSettings,
  clients: number,
): Promise<StatsRssResult> {
  const dir = tempDir("stats-rss");
  let panel: Panel;
  if (seed) {
    const dataDir = join(dir, "data");
    cpSync(seed.dataDir, dataDir, { recursive: true });
    const port = freePort();
    const child = start(serveCommand(target, port, dataDir, "auto"), join(dir, "panel.log"));
    panel = panelAt(child, `https://127.0.0.1:${port}`, seed.token);
    try {
      await firstAnswer(child, `${panel.url}/healthz`, 20_000, 10);
    } catch (err) {
      await child.stop();
      throw err;
    }
  } else {
    panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir });
  }
  let idle: number;
  let busy: { rssKiB: number; hwmKiB: number };
  let rec: ClientRecords;
  try {
    await waitForContainers(panel, LABEL, s.containers, 60_000);
    await sleep(s.idleMs);
    idle = memoryOf(panel.child.pid).rssKiB;
    const group = await startClients({
      url: wsUrl(panel),
      token: panel.token,
      count: clients,
      validate: "first",
      dir,
      name: "rss-clients",
      maxMs: WORKER_MAX_MS,
    });
    try {
      log(`stats RSS: ${clients} clients subscribed; ${s.rssSteadySeconds} s steady`);
      await sleep(s.rssSteadySeconds * 1000);
      busy = memoryOf(panel.child.pid);
    } finally {
      rec = await group.stop();
    }
  } finally {
    await panel.child.stop();
  }
  const baseline = await baselineRss(baselineBinary, dir, s.idleMs);
  // Each client's frames, first to last, against the ticks in between.
  const seqs = new Map<number, { first: number; last: number; got: number }>();
  for (let i = 0; i < rec.k.length; i++) {
    if (rec.k[i] === KIND.other) continue;
    const c = seqs.get(rec.c[i]!) ?? { first: rec.s[i]!, last: rec.s[i]!, got: 0 };
    c.first = Math.min(c.first, rec.s[i]!);
    c.last = Math.max(c.last, rec.s[i]!);
    c.got++;
    seqs.set(rec.c[i]!, c);
  }
  const missed = sum([...seqs.values()].map((c) => c.last - c.first + 1 - c.got));
  return {
    tls: seed ? "auto (certificate present)" : "off",
    containers: s.containers,
    clients,
    steady_seconds: s.rssSteadySeconds,
    idle_rss_mib: round(idle / 1024, 1),
    rss_mib: round(busy.rssKiB / 1024, 1),
    rss_mb: round((busy.rssKiB * 1024) / 1e6, 1),
    peak_rss_mib: round(busy.hwmKiB / 1024, 1),
    baseline_rss_mib: round(baseline / 1024, 1),
    ratios: { idle: round(busy.rssKiB / idle), baseline: round(busy.rssKiB / baseline) },
    frames_missed: missed,
  };
}

// ---- (e) at scale, on a private engine: `bun bench/stats.ts [--quick]` ----

/**
 * What users live with: 100 and then 1,000 containers on a private dockerd (its own network
 * namespace, so the counts are exact and the traffic stays inside), a stated share of them busy
 * with CPU, memory and network all moving, and the panel under 100 clients and a request loop.
 *
 * Busy containers (BUSY_SHARE of them) sit on one bridge network of the private engine and ping
 * another busy container (1,200-byte packets, one a second each way), rewrite a tmpfs file of
 * 0.25–2 MiB every second (memory moves) and run `head` for it (CPU moves). The rest sleep, with no
 * network. The panel is pinned to CPU 0 with taskset, this process (clients, request loop) to CPU 1.
 */
const BUSY_SHARE = 0.3;
const SCALE_NET = "gpbench-stats";
const SCALE_SUBNET = "10.231.0.0/16";
const BUSY_CMD = (peer: string) => [
  "sh",
  "-c",
  `ping -q -i 1 -s 1200 ${peer} >/dev/null 2>&1 & i=0; while :; do i=$(( (i + 1) % 8 )); head -c $(( (i + 1) * 262144 )) /dev/zero > /dev/shm/m; sleep 1; done`,
];
const busyIp = (k: number) => `10.231.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`;

export interface ScaleWindow {
  label: string;
  reader: "worker" | "main";
  containers: number;
  busy: number;
  clients: number;
  seconds: number;
  ticks: number;
  /** arrival − the frame's own sample time (`t`, the tick's first read), every client and frame */
  sample_to_client: Percentiles;
  /** GET /healthz one after another through the window: what a tick does to requests */
  healthz: Percentiles;
  /** every byte one client got on stats:<env> and host:<env> (keyframe on subscribe included) / container-samples */
  bytes_per_sample: number;
  stats_bytes: number;
  host_bytes: number;
  keyframe_bytes: number;
  deltas_bytes_per_sample: number;
  panel_cpu_percent: number;
  rss_mib: number;
}

interface ScaleSettings {
  sizes: [number, number];
  windowSeconds: number;
  clients: number;
}

/** waitFor with the check first: reads better at the call sites here. */
function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  return waitFor(what, ms, check, 500);
}

async function sockApi(sock: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://engine${path}`, {
    method,
    unix: sock,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Generous: on a loaded machine a container start was seen taking over a minute.
    signal: AbortSignal.timeout(300_000),
  } as RequestInit);
  const text = await res.text();
  if (!res.ok && res.status !== 304)
    throw new Error(`engine ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Starts containers `from`..`to`-1 of the mix: every 1/BUSY_SHARE-th one busy, the rest asleep. */
async function startMix(sock: string, image: string, from: number, to: number, busyTotal: number) {
  const indexes = Array.from({ length: to - from }, (_, i) => from + i);
  await mapLimit(indexes, 6, async (i) => {
    if (isStopping()) throw new Error("the run is ending");
    const k = busyIndex(i);
    const body =
      k === undefined
        ? { Image: image, Cmd: ["sleep", "3600"], HostConfig: { NetworkMode: "none" } }
        : {
            Image: image,
            Cmd: BUSY_CMD(busyIp((k + 1) % busyTotal)),
            HostConfig: { NetworkMode: SCALE_NET, ShmSize: 8 * 1024 * 1024 },
            NetworkingConfig: {
              EndpointsConfig: { [SCALE_NET]: { IPAMConfig: { IPv4Address: busyIp(k) } } },
            },
          };
    const made = (await sockApi(sock, "POST", `/containers/create?name=gps-${i}`, body)) as { Id: string };
    await sockApi(sock, "POST", `/containers/${made.Id}/start`);
  });
}

/** Container i's place among the busy ones, or undefined for a sleeper. */
function busyIndex(i: number): number | undefined {
  const every = Math.round(1 / BUSY_SHARE);
  // 3 in 10: i % 10 in {0, 3, 6}
  const r = i % 10;
  if (every === 3 && (r === 0 || r === 3 || r === 6)) return Math.floor(i / 10) * 3 + r / 3;
  return undefined;
}

async function runningCount(sock: string): Promise<number> {
  return ((await sockApi(sock, "GET", "/containers/json")) as unknown[]).length;
}

function pin(pid: number, cpu: number): boolean {
  return (
    Bun.spawnSync(["taskset", "-pc", String(cpu), String(pid)], { stdout: "ignore", stderr: "ignore" })
      .exitCode === 0
  );
}

async function scaleWindow(
  panel: Panel,
  label: string,
  reader: ScaleWindow["reader"],
  containers: number,
  s: ScaleSettings,
): Promise<ScaleWindow> {
  const { decodeFrame } = await import("../src/protocol/frames.ts");
  const url = `${panel.url.replace(/^http/, "ws")}/api/v1/stream?topics=stats:local,host:local`;
  const lat: number[] = [];
  const health: number[] = [];
  const bytes = { stats: 0, host: 0, key: 0, deltas: 0, deltaRows: 0 };
  const seqs = new Set<number>();
  let measuring = false;
  const sockets: WebSocket[] = [];
  let keysSeen = 0;
  for (let i = 0; i < s.clients; i++) {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${panel.token}` },
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const first = i === 0;
    ws.onmessage = (e) => {
      const now = Date.now();
      const buf = new Uint8Array(e.data as ArrayBuffer);
      const f = decodeFrame(buf) as { t: string; k: string; d: { t?: number; s?: number; c?: unknown[] } };
      if (f.t === "stats:local" && f.k === "key") keysSeen++;
      if (!measuring) return;
      if (f.t === "stats:local" && typeof f.d?.t === "number") lat.push(now - f.d.t);
      if (!first) return;
      if (f.t === "host:local") bytes.host += buf.length + wsHeader(buf.length);
      else if (f.t === "stats:local") {
        bytes.stats += buf.length + wsHeader(buf.length);
        seqs.add(f.d.s ?? -1);
        if (f.k === "key") bytes.key += buf.length;
      }
    };
    sockets.push(ws);
  }
  try {
    await until(async () => (keysSeen >= s.clients ? true : undefined), 60_000, "every client's keyframe");
    await sleep(2_000);
    // The bytes client starts again, so the keyframe on subscribe is counted in the window.
    sockets[0]!.close();
    const again = new WebSocket(url, {
      headers: { authorization: `Bearer ${panel.token}` },
    } as unknown as string[]);
    again.binaryType = "arraybuffer";
    again.onmessage = sockets[0]!.onmessage;
    sockets[0] = again;
    const cpu0 = cpuSnapshot([panel.child.pid]);
    measuring = true;
    const end = performance.now() + s.windowSeconds * 1000;
    while (performance.now() < end && !isStopping()) {
      const t0 = performance.now();
      const res = await fetch(`${panel.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      health.push(performance.now() - t0);
      await sleep(20);
    }
    measuring = false;
    const cpu = cpuSince(cpu0, [panel.child.pid]) / s.windowSeconds;
    const ticks = seqs.size;
    const samples = ticks * containers;
    const result: ScaleWindow = {
      label,
      reader,
      containers,
      busy: Math.round(containers * BUSY_SHARE),
      clients: s.clients,
      seconds: s.windowSeconds,
      ticks,
      sample_to_client: percentiles(lat),
      healthz: percentiles(health),
      bytes_per_sample: round((bytes.stats + bytes.host) / samples, 2),
      stats_bytes: bytes.stats,
      host_bytes: bytes.host,
      keyframe_bytes: bytes.key,
      deltas_bytes_per_sample: round((bytes.stats - bytes.key) / samples, 2),
      panel_cpu_percent: round(cpu * 100, 1),
      rss_mib: round(memoryOf(panel.child.pid).rssKiB / 1024, 1),
    };
    // Each window as it ends: a run cut short still leaves what it measured.
    log(`stats scale window: ${JSON.stringify(result)}`);
    return result;
  } finally {
    for (const ws of sockets) ws.close();
  }
}

async function scalePanel(
  target: Target,
  dir: string,
  sock: string,
  reader: ScaleWindow["reader"],
  count: number,
) {
  const pinned: Target = { ...target, command: ["taskset", "-c", "0", ...target.command] };
  const before = process.env.GHOSTPANEL_STATS_READER;
  process.env.GHOSTPANEL_STATS_READER = reader;
  let panel: Panel;
  try {
    panel = await startPanel({
      target: pinned,
      dataDir: join(dir, `data-${reader}-${count}`),
      tls: "off",
      workDir: dir,
      engineUrl: `unix://${sock}`,
    });
  } finally {
    if (before === undefined) delete process.env.GHOSTPANEL_STATS_READER;
    else process.env.GHOSTPANEL_STATS_READER = before;
  }
  await until(
    async () => {
      const list = (await panel.api("/api/v1/envs/local/stats")) as unknown[];
      return list.length >= count ? true : undefined;
    },
    120_000,
    `figures for ${count} containers`,
  );
  return panel;
}

export async function benchStatsScale(target: Target, s: ScaleSettings) {
  const { SecondEngine } = await import("../tests/helpers/second-engine.ts");
  // Not under tempDir(): other bench runs sweep those of processes that are not bench/run.ts.
  const dir = mkdtempSync(join(tmpdir(), "gpstats-scale-"));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const pinnedSelf = pin(process.pid, 1);
  log(
    `stats scale: private engine; bench ${pinnedSelf ? "pinned to CPU 1, panel to CPU 0" : "not pinned (taskset failed)"}`,
  );
  const engine = await SecondEngine.start();
  defer("private engine", () => engine.stop());
  const windows: ScaleWindow[] = [];
  const [small, large] = s.sizes;
  const busyTotal = Math.round(large * BUSY_SHARE);
  engine.loadImage(IMAGE);
  await sockApi(engine.socketPath, "POST", "/networks/create", {
    Name: SCALE_NET,
    Driver: "bridge",
    IPAM: { Config: [{ Subnet: SCALE_SUBNET }] },
  });
  log(`stats scale: starting ${small} containers`);
  await startMix(engine.socketPath, IMAGE, 0, small, busyTotal);
  if ((await runningCount(engine.socketPath)) !== small) throw new Error("not every container runs");

  const panel = await scalePanel(target, dir, engine.socketPath, "worker", small);
  windows.push(await scaleWindow(panel, `${small}, fresh panel`, "worker", small, s));
  const rssFresh = windows.at(-1)!.rss_mib;

  log(`stats scale: starting ${large - small} more containers`);
  await startMix(engine.socketPath, IMAGE, small, large, busyTotal);
  const running = await runningCount(engine.socketPath);
  if (running !== large) throw new Error(`${running} containers run, not ${large}`);
  await until(
    async () =>
      ((await panel.api("/api/v1/envs/local/stats")) as unknown[]).length >= large ? true : undefined,
    180_000,
    `figures for ${large}`,
  );
  await sleep(5_000);
  windows.push(await scaleWindow(panel, `${large}`, "worker", large, s));
  const rssLarge = windows.at(-1)!.rss_mib;

  // The baseline: a second panel reading the cgroup files on its main thread (how it was before),
  // on the same containers, while the first one is stopped (SIGSTOP) so the two do not share CPU 0.
  log(`stats scale: baseline, files read on the main thread, ${large} containers`);
  process.kill(panel.child.pid, "SIGSTOP");
  try {
    const baseline = await scalePanel(target, dir, engine.socketPath, "main", large);
    try {
      await sleep(5_000);
      windows.push(await scaleWindow(baseline, `${large}, baseline`, "main", large, s));
    } finally {
      await baseline.child.stop();
    }
  } finally {
    process.kill(panel.child.pid, "SIGCONT");
  }

  log(`stats scale: removing ${large - small} containers`);
  const all = (await sockApi(engine.socketPath, "GET", "/containers/json")) as {
    Id: string;
    Names: string[];
  }[];
  const extra = all.filter((c) => Number(c.Names[0]!.slice("/gps-".length)) >= small).map((c) => c.Id);
  await mapLimit(extra, 8, async (id) => {
    await sockApi(engine.socketPath, "DELETE", `/containers/${id}?force=1`);
  });
  await sleep(5_000);
  windows.push(await scaleWindow(panel, `${small}, after ${large} and removals`, "worker", small, s));
  const rssAfter = windows.at(-1)!.rss_mib;
  await panel.child.stop();
  await engine.stop();

  const w = (label: string) => windows.find((x) => x.label === label)!;
  return {
    busy_share: BUSY_SHARE,
    busy_cmd: BUSY_CMD("<peer>").join(" "),
    pinned: pinnedSelf ? "panel on CPU 0, clients and request loop on CPU 1 (taskset)" : "not pinned",
    windows,
    growth_kib_per_container: round(((rssLarge - rssFresh) * 1024) / (large - small), 1),
    released_mib: round(rssLarge - rssAfter, 1),
    ratios: {
      healthz_p99_main_over_worker: round(
        w(`${large}, baseline`).healthz.p99_ms / w(`${large}`).healthz.p99_ms,
      ),
      latency_p99_main_over_worker: round(
        w(`${large}, baseline`).sample_to_client.p99_ms / w(`${large}`).sample_to_client.p99_ms,
      ),
    },
  };
}

if (import.meta.main) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      void runCleanups().finally(() => process.exit(143));
    });
  }
  const quick = process.argv.includes("--quick");
  const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1];
  const dir = mkdtempSync(join(tmpdir(), "gpstats-scale-target-"));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const target = panelTarget(dir);
  // --sizes SMALL,LARGE and --seconds N override (for a machine too busy for the full run).
  const sizes = process.argv.includes("--sizes") ? arg("--sizes")!.split(",").map(Number) : undefined;
  const settings: ScaleSettings = {
    sizes: [sizes?.[0] ?? 100, sizes?.[1] ?? (quick ? 200 : 1000)],
    windowSeconds: process.argv.includes("--seconds") ? Number(arg("--seconds")) : quick ? 20 : 60,
    clients: 100,
  };
  try {
    const r = await benchStatsScale(target, settings);
    const rows = r.windows.map((x) =>
      [
        x.label.padEnd(28),
        x.reader.padEnd(6),
        String(x.ticks).padStart(5),
        `${x.sample_to_client.p50_ms}/${x.sample_to_client.p99_ms}/${x.sample_to_client.max_ms}`.padStart(18),
        `${x.healthz.p50_ms}/${x.healthz.p99_ms}/${x.healthz.max_ms}`.padStart(18),
        String(x.bytes_per_sample).padStart(7),
        String(x.deltas_bytes_per_sample).padStart(7),
        String(x.panel_cpu_percent).padStart(6),
        String(x.rss_mib).padStart(7),
      ].join("  "),
    );
    console.log(
      `stats at scale (${target.kind} ${target.path}; ${Math.round(BUSY_SHARE * 100)} % busy: CPU, memory, network; ${r.pinned})`,
    );
    console.log(
      "containers                    reader  ticks  sample→client ms  /healthz ms        B/sample  deltas  cpu %  RSS MiB",
    );
    console.log("                                             p50/p99/max       p50/p99/max       (all)");
    for (const row of rows) console.log(row);
    console.log(
      `growth ${r.growth_kib_per_container} KiB per container; ${r.released_mib} MiB released after removals; baseline/worker at ${settings.sizes[1]}: /healthz p99 ${r.ratios.healthz_p99_main_over_worker}x, sample→client p99 ${r.ratios.latency_p99_main_over_worker}x`,
    );
    console.log(JSON.stringify({ target, settings, ...r }, null, 2));
  } finally {
    await runCleanups();
  }
}
