/**
 * bench/stats (issues #3, #14): live stats as users live with them. Group `stats` of bench/run.ts,
 * or on its own: `bun bench/stats.ts [--quick] [--sizes 100,1000] [--ticks N]`.
 *
 * Everything runs on a private dockerd (tests/helpers/second-engine.ts: its own network namespace
 * and data root), so the container counts are exact and nothing else runs there. A stated share of
 * the containers is busy (BUSY_SHARE, BUSY_CMD): CPU, memory and network all move every second,
 * the traffic only between the bench's own containers. One panel (the cgroup reader in slices, its default
 * 1 s interval, `--tls off`) is pinned to CPU 0; the WebSocket clients, in processes of their own
 * (bench/lib/stats-clients.ts), to CPU 1. For each size (100, then 1,000 on the same panel):
 *
 *   latency and bytes: 1 client, then 100, each subscribed to `stats:local,host:local` for `ticks`
 *     ticks. sample→client = arrival − the frame's `t` (when the panel read the frame's first file),
 *     every frame but each client's keyframe on subscribe; bytes per container-sample = every byte
 *     a client got on both topics (keyframe on subscribe, keyframes after a drop, host frames,
 *     WebSocket headers) / (ticks it was subscribed × containers). Baselines: the 1-client phase
 *     and a bare server (latency: bench/lib/bare-stream.ts, the 100 clients again against a
 *     server that only sends the same bytes a tick, the panel stopped: the machine's floor under
 *     the mix, as many frames a tick as the panel's), a bare reader (the same, but reading the
 *     containers' files each tick with the panel's own reader and sending each part as it is read:
 *     the floor of reading them here) and the engine's own stats stream, JSON lines for the same
 *     containers (bytes).
 *   RSS: the panel's with the 100 clients connected, against the same panel before any client.
 *
 * And once, at the first size, before that panel starts: CPU per 1,000 container-samples of the
 * panel plus the private engine (dockerd, containerd, shims), cgroup source against the
 * Docker-stats source (a panel reaching the same engine over loopback TCP), less the idle engine's.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { StatsTarget } from "../src/stats/sample.ts";
import { encodeFrame } from "../src/stream/frames.ts";
import type { SecondEngine } from "../tests/helpers/second-engine.ts";
import { startBareStream } from "./lib/bare-stream.ts";
import { IMAGE, mapLimit } from "./lib/engine.ts";
import { type Panel, startPanel } from "./lib/panel.ts";
import {
  type CpuSnapshot,
  cpuSince,
  cpuSnapshot,
  mainThreadSched,
  memoryOf,
  OWN_SESSION,
  panelTarget,
  pin,
  processesBy,
  type Target,
} from "./lib/process.ts";
import { type Budget, budget, type Row, table } from "./lib/report.ts";
import { type ClientRecords, KIND, startClients } from "./lib/stats-clients.ts";
import { startTcpProxy } from "./lib/tcp-proxy.ts";
import {
  defer,
  flagValue,
  freePort,
  isStopping,
  log,
  mean,
  percentile,
  round,
  runCleanups,
  sleep,
  waitFor,
} from "./lib/util.ts";
import { chunks } from "./lib/worker.ts";

export interface StatsSettings {
  /** Running containers on the private engine, exactly; measured one size after the other. */
  sizes: number[];
  /** The panel's stats interval (its default). */
  intervalMs: number;
  /** Ticks each client phase lasts: each client gets as many frames, so p99 is not one tick. */
  ticks: number;
  clientCounts: number[];
  /** Seconds the engine's own stats streams are read, for the bytes baseline. */
  dockerStreamSeconds: number;
  /** Each CPU window (cgroup vs docker source). */
  cpuWindowSeconds: number;
}

/** Issue #14 (bytes, latency) and #3 (CPU, RSS). */
export const STATS_BUDGETS = {
  bytesPerSample: 6,
  /** sample→client p99 with 100 clients, by containers on the engine */
  p99Ms: { 100: 20, 1000: 50 } as Record<number, number>,
  p99Clients: 100,
  cpuRatio: 0.1,
  rssMiB: 80,
};

/** Every helper process exits by itself after this, whatever happens to the bench. */
const WORKER_MAX_MS = 45 * 60_000;

// ---- the private engine and its mix ----

/**
 * 3 containers in 10 are busy: each sits on one bridge network of the private engine, pings its
 * partner (busy container k pings k xor 1: 1,200-byte packets, one a second each way), and every
 * second rewrites a tmpfs file of 0.25–2 MiB with `head` (memory and CPU move). The rest sleep,
 * with no network. A busy container waits at a gate (GATE_FILE in a directory of the bench's, bound
 * read-only) until every container of its size runs: started busy, 300 of them made the rest
 * start so slowly (load average 540) that 1,000 did not run within CREATE_BOUND_MS.
 */
export const BUSY_SHARE = 0.3;
const NET = "gpbench-stats";
const SUBNET = "10.231.0.0/16";
const GATE_FILE = "go";
const BUSY_CMD = (peer: string) => [
  "sh",
  "-c",
  `while [ ! -e /gate/${GATE_FILE} ]; do sleep 1; done; ping -q -i 1 -s 1200 ${peer} >/dev/null 2>&1 & i=0; while :; do i=$(( (i + 1) % 8 )); head -c $(( (i + 1) * 262144 )) /dev/zero > /dev/shm/m; sleep 1; done`,
];
/**
 * A day, not an hour: a run at 100 and 1,000 containers lasts about an hour, and the first sleepers
 * ending partway through it left the count short of what the table says.
 */
const SLEEPER_CMD = ["sleep", "86400"];
const busyIp = (k: number) => `10.231.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`;

/** Container i's place among the busy ones (i % 10 in {0, 3, 6}), or undefined for a sleeper. */
function busyIndex(i: number): number | undefined {
  const r = i % 10;
  return r === 0 || r === 3 || r === 6 ? Math.floor(i / 10) * 3 + r / 3 : undefined;
}

export async function sockApi(sock: string, method: string, path: string, body?: unknown): Promise<unknown> {
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

/** The bridge network the busy containers of the mix ping each other on. */
export async function createMixNetwork(sock: string): Promise<void> {
  await sockApi(sock, "POST", "/networks/create", {
    Name: NET,
    Driver: "bridge",
    IPAM: { Config: [{ Subnet: SUBNET }] },
  });
}

/**
 * How long making one size's containers may take: on a loaded machine a start can take a minute,
 * and 1,000 behind the gate took 16–19 minutes here (about one a second, six at a time).
 */
const CREATE_BOUND_MS = 30 * 60_000;

/**
 * Starts containers `from`..`to`-1 of the mix, checks that exactly `to` run, then opens the gate
 * (`workDir`/gate: the busy ones among them start their work; those of a size before are at work).
 */
export async function startMix(sock: string, from: number, to: number, workDir: string): Promise<string[]> {
  const gateDir = join(workDir, "gate");
  const gate = join(gateDir, GATE_FILE);
  mkdirSync(gateDir, { recursive: true });
  rmSync(gate, { force: true });
  const indexes = Array.from({ length: to - from }, (_, i) => from + i);
  const deadline = performance.now() + CREATE_BOUND_MS;
  let done = 0;
  await mapLimit(indexes, 6, async (i) => {
    if (isStopping()) throw new Error("the run is ending");
    if (performance.now() > deadline)
      throw new Error(`${done} of ${to - from} containers started in ${CREATE_BOUND_MS / 60_000} minutes`);
    const k = busyIndex(i);
    const body =
      k === undefined
        ? { Image: IMAGE, Cmd: SLEEPER_CMD, HostConfig: { NetworkMode: "none" } }
        : {
            Image: IMAGE,
            Cmd: BUSY_CMD(busyIp(k ^ 1)),
            HostConfig: { NetworkMode: NET, ShmSize: 8 * 1024 * 1024, Binds: [`${gateDir}:/gate:ro`] },
            NetworkingConfig: { EndpointsConfig: { [NET]: { IPAMConfig: { IPv4Address: busyIp(k) } } } },
          };
    const made = (await sockApi(sock, "POST", `/containers/create?name=gps-${i}`, body)) as { Id: string };
    await sockApi(sock, "POST", `/containers/${made.Id}/start`);
    if (++done % 100 === 0) log(`stats: ${from + done} of ${to} containers running`);
  });
  const running = (await sockApi(sock, "GET", "/containers/json")) as { Id: string }[];
  if (running.length !== to)
    throw new Error(`${running.length} containers run on the private engine, not ${to}`);
  writeFileSync(gate, "");
  return running.map((c) => c.Id);
}

/** The containers as the panel's reader takes them: id and the host pid of each one's process. */
async function targetsOf(sock: string, ids: string[]): Promise<StatsTarget[]> {
  const targets: StatsTarget[] = [];
  await mapLimit(ids, 8, async (id) => {
    const c = (await sockApi(sock, "GET", `/containers/${id}/json`)) as { State?: { Pid?: number } };
    if (c.State?.Pid) targets.push({ id, pid: c.State.Pid });
  });
  return targets;
}

// ---- the engine's own stats stream: the bytes baseline ----

/** Mean length of the engine's stats lines (one per container-sample), reading every stream at once. */
async function dockerStatsLineBytes(sock: string, ids: string[], seconds: number) {
  const lengths: number[] = [];
  await mapLimit(ids, ids.length, async (id) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), seconds * 1000);
    const mine: number[] = [];
    try {
      const res = await fetch(`http://engine/containers/${id}/stats?stream=1`, {
        unix: sock,
        signal: abort.signal,
      } as RequestInit);
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
    lengths.push(...(mine.length > 1 ? mine.slice(1) : mine));
  });
  if (lengths.length === 0) throw new Error("the engine's stats streams gave no line");
  return {
    containers: ids.length,
    seconds,
    lines: lengths.length,
    bytes_per_sample: round(mean(lengths), 1),
  };
}

// ---- panels ----

/** A panel on the private engine (or `engineUrl`), pinned to CPU 0, once it has figures for `count` containers. */
async function statsPanel(
  target: Target,
  dir: string,
  engineUrl: string,
  count: number,
  name: string,
): Promise<{ panel: Panel; source: string }> {
  const pinned: Target =
    cpus().length > 1
      ? { ...target, command: [...OWN_SESSION, "taskset", "-c", "0", ...target.command] }
      : { ...target, command: [...OWN_SESSION, ...target.command] };
  const panel = await startPanel({
    target: pinned,
    dataDir: join(dir, `data-${name}`),
    tls: "off",
    workDir: dir,
    engineUrl,
  });
  try {
    const source = await figuresFor(panel, count, 120_000);
    return { panel, source };
  } catch (err) {
    await panel.child.stop();
    throw err;
  }
}

/** Asks GET …/stats until it has figures for `count` containers; gives the source the panel uses. */
function figuresFor(panel: Panel, count: number, timeoutMs: number): Promise<string> {
  return waitFor(
    `figures for ${count} containers`,
    timeoutMs,
    async () => {
      const res = await fetch(`${panel.url}/api/v1/envs/local/stats`, {
        headers: { authorization: `Bearer ${panel.token}` },
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as unknown[];
      if (!res.ok) throw new Error(`GET /api/v1/envs/local/stats: ${res.status} ${JSON.stringify(body)}`);
      return body.length >= count ? (res.headers.get("x-stats-source") ?? "?") : undefined;
    },
    500,
  );
}

const streamUrl = (panel: Panel, topics: string) =>
  `${panel.url.replace(/^http/, "ws")}/api/v1/stream?topics=${topics}`;

/** Bytes of a server-to-client WebSocket frame header for a payload of `n` bytes (unmasked). */
function wsHeader(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

// ---- one phase: `clients` clients for `ticks` ticks ----

export interface Percentiles {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  n: number;
}

function percentiles(xs: number[]): Percentiles {
  return {
    p50_ms: round(percentile(xs, 50), 2),
    p99_ms: round(percentile(xs, 99), 2),
    max_ms: round(
      xs.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
      2,
    ),
    n: xs.length,
  };
}

export interface Phase {
  containers: number;
  clients: number;
  /** ticks the window spans (distinct tick-ending frames seen) */
  ticks: number;
  /** frames per tick: more than 1 when the panel sent a tick in parts, as it read it */
  frames_per_tick: number;
  /** arrival − the frame's `t`, every client and frame but each one's keyframe on subscribe */
  sample_to_client: Percentiles;
  /**
   * A tick's last frame's arrival − the `t` of its first frame (its oldest figures), for the ticks
   * a client got every frame of: what a client that shows a tick only whole (the UI's tables and
   * charts) waits for. The same as sample→client when a tick is one frame.
   */
  whole_tick_to_client: Percentiles;
  /** per frame: the first arrival at any client − `t` (reading, encoding, the first send) */
  tick_to_first_client: Percentiles;
  /** arrival − the same frame's first arrival at any client: the fan-out */
  spread: Percentiles;
  /**
   * A probe pinned to the panel's CPU through the phase, every 100 ms: how late a timer fires, and
   * how long (wall) 2 ms of CPU work takes there. The floor the machine's scheduler and everyone
   * else's load put under the panel: a tick's reads, encoding and sends stretch the same way.
   */
  cpu0: { timer_lag: Percentiles; wall_for_2ms_cpu: Percentiles };
  /**
   * The server's main thread over the phase, ms a second: how long it ran, and how long it was
   * runnable but waited for its CPU (/proc/<pid>/task/<pid>/schedstat). What the wait is to the
   * run says how much of a frame's time the machine's scheduler adds to the server's own work.
   */
  main_thread?: { run_ms_per_s: number; wait_ms_per_s: number };
  /** the fewest frames any client timed */
  min_frames_per_client: number;
  /** frames (client × tick) never sent: the panel skips a tick for a client too slow to take it */
  frames_missed: number;
  /** keyframes after the one on subscribe (each client's after a drop) */
  keyframes_after_drop: number;
  /** every byte on stats: and host: (WebSocket headers included) / (ticks subscribed × containers), ticks not frames */
  bytes_per_sample: { mean: number; max: number };
  /** the first client's bytes, by kind */
  first_client: {
    keyframe_bytes: number;
    delta_bytes: number;
    host_bytes: number;
    other_keyframe_bytes: number;
    ticks: number;
    /** containers in its decoded table at the end: the exact count, or the decoder lost some */
    rows: number;
    refused_deltas: number;
  };
  bad_messages: number;
  closes: Record<string, number>;
  panel_cpu_percent: number;
  clients_cpu_percent: number;
  panel_rss_mib: number;
}

/** What a phase's clients connect to: the panel, or the bare server beside it. */
interface StreamServer {
  name: string;
  url: string;
  token: string;
  pid: number;
  validate: "first" | "none";
}

const panelServer = (panel: Panel): StreamServer => ({
  name: "panel",
  url: streamUrl(panel, "stats:local,host:local"),
  token: panel.token,
  pid: panel.child.pid,
  validate: "first",
});

async function phase(
  server: StreamServer,
  dir: string,
  containers: number,
  clients: number,
  s: StatsSettings,
): Promise<Phase> {
  log(`stats: ${server.name}, ${containers} containers, ${clients} client(s), ${s.ticks} ticks`);
  const group = await startClients({
    url: server.url,
    token: server.token,
    count: clients,
    validate: server.validate,
    dir,
    name: `clients-${server.name}-${containers}-${clients}`,
    maxMs: WORKER_MAX_MS,
    cpu: cpus().length > 1 ? 1 : undefined,
  });
  let rec: ClientRecords;
  let panelCpu: number;
  let clientCpu: number;
  let rssKiB: number;
  let lag: Phase["cpu0"];
  let mainThread: Phase["main_thread"];
  try {
    const probe = cpuProbe(s.ticks * s.intervalMs);
    const panelBefore = cpuSnapshot([server.pid]);
    const clientsBefore = cpuSnapshot([group.pid]);
    const schedBefore = mainThreadSched(server.pid);
    await sleep(s.ticks * s.intervalMs);
    const seconds = (performance.now() - panelBefore.at) / 1000;
    panelCpu = cpuSince(panelBefore, [server.pid]) / seconds;
    clientCpu = cpuSince(clientsBefore, [group.pid]) / seconds;
    const schedAfter = mainThreadSched(server.pid);
    if (schedBefore && schedAfter)
      mainThread = {
        run_ms_per_s: round((schedAfter.runMs - schedBefore.runMs) / seconds, 1),
        wait_ms_per_s: round((schedAfter.waitMs - schedBefore.waitMs) / seconds, 1),
      };
    rssKiB = memoryOf(server.pid).rssKiB;
    lag = await probe;
  } finally {
    rec = await group.stop();
  }
  return {
    ...analyse(rec, containers, clients, { panelCpu, clientCpu, rssKiB, lag }),
    main_thread: mainThread,
  };
}

/**
 * The 100-client phase again against a server that only sends (bench/lib/bare-stream.ts): pinned
 * where the panel is, the same clients on the same CPU, the bytes the panel's deltas came to in
 * `beside` in as many frames a tick as the panel sent, spaced as its parts were. The panel is
 * stopped (SIGSTOP) meanwhile, so its reads are not in the floor; the mix runs on as before.
 */
async function barePhase(
  panel: Panel,
  dir: string,
  beside: Phase,
  s: StatsSettings,
  read?: StatsTarget[],
): Promise<Phase> {
  const f = beside.first_client;
  const topic = "stats:local";
  // The panel's delta bytes a tick (WebSocket headers counted in them), less the frame's own fields.
  const fields = encodeFrame(topic, {
    k: "delta",
    d: { s: 1e6, t: Date.now(), p: new Uint8Array(0) },
  }).length;
  const perTick = f.delta_bytes / Math.max(1, f.ticks);
  const padBytes = Math.max(0, Math.round(perTick - fields - wsHeader(perTick)));
  // As many frames a tick as the panel's parts, as far apart as they went out: each is a wake-up
  // of the clients' process, and on a loaded machine ten wake-ups a second wait far longer than one.
  const framesPerTick = Math.max(1, Math.round(beside.frames_per_tick));
  const bare = await startBareStream({
    dir,
    port: freePort(),
    topic,
    padBytes,
    intervalMs: s.intervalMs,
    framesPerTick,
    spacingMs: framesPerTick > 1 ? beside.whole_tick_to_client.p50_ms / framesPerTick : 0,
    maxMs: WORKER_MAX_MS,
    read,
  });
  try {
    if (cpus().length > 1 && !pin(bare.pid, 0)) throw new Error("taskset: could not pin the bare server");
    process.kill(panel.child.pid, "SIGSTOP");
    try {
      const server: StreamServer = {
        name: "bare",
        url: bare.url,
        token: "",
        pid: bare.pid,
        validate: "none",
      };
      return await phase(server, dir, beside.containers, beside.clients, s);
    } finally {
      process.kill(panel.child.pid, "SIGCONT");
    }
  } finally {
    await bare.stop();
  }
}

// Every 100 ms for `ms`: a sleep's lateness, then the wall time of 2 ms of CPU (busy until
// process.cpuUsage() has moved that much). Prints both lists (JSON). About 2 % of a CPU.
const CPU_PROBE = (ms: number) =>
  `const end = performance.now() + ${ms}; const lag = [], wall = []; while (performance.now() < end) { const t0 = performance.now(); await Bun.sleep(100); const t1 = performance.now(); lag.push(t1 - t0 - 100); const c0 = process.cpuUsage(); for (;;) { const c = process.cpuUsage(c0); if (c.user + c.system >= 2000) break; } wall.push(performance.now() - t1); } console.log(JSON.stringify({ lag, wall }));`;

/** The CPU probe on the panel's CPU for `ms` (the process ends by itself). */
async function cpuProbe(ms: number): Promise<Phase["cpu0"]> {
  const pinned = cpus().length > 1 ? ["taskset", "-c", "0"] : [];
  const proc = Bun.spawn([...pinned, process.execPath, "-e", CPU_PROBE(ms)], {
    stdout: "pipe",
    stderr: "ignore",
  });
  defer(`CPU probe (process ${proc.pid})`, () => {
    proc.kill();
  });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const { lag, wall } = JSON.parse(out) as { lag: number[]; wall: number[] };
  return { timer_lag: percentiles(lag), wall_for_2ms_cpu: percentiles(wall) };
}

function analyse(
  rec: ClientRecords,
  containers: number,
  clients: number,
  m: { panelCpu: number; clientCpu: number; rssKiB: number; lag: Phase["cpu0"] },
): Phase {
  const per = Array.from({ length: clients }, () => ({
    first: -1,
    last: -1,
    seqs: new Set<number>(),
    bytes: 0,
    timed: 0,
    keyAfter: 0,
    /** the `t` of the tick under way's first frame, and the seq it expects next (-1: none) */
    tickT: -1,
    nextSeq: -1,
    /** the frame before ended a tick */
    ended: false,
  }));
  const lat: number[] = [];
  const whole: number[] = [];
  const all = new Set<number>();
  /** frames that end a tick (no `m`), by seq */
  const tickEnds = new Set<number>();
  /** per timed tick: its `t` and every arrival */
  const arrivals = new Map<number, { t: number; at: number[] }>();
  const first = { keyframe_bytes: 0, delta_bytes: 0, host_bytes: 0, other_keyframe_bytes: 0, rows: 0 };
  for (let i = 0; i < rec.k.length; i++) {
    const c = per[rec.c[i]!]!;
    const b = rec.b[i]!;
    c.bytes += b + wsHeader(b);
    const kind = rec.k[i]!;
    const mine = rec.c[i] === 0;
    if (kind === KIND.other) {
      if (mine) first.host_bytes += b + wsHeader(b);
      continue;
    }
    const seq = rec.s[i]!;
    const subscribe = c.first < 0;
    if (subscribe) c.first = seq;
    c.last = Math.max(c.last, seq);
    c.seqs.add(seq);
    all.add(seq);
    if (mine) {
      const into =
        kind === KIND.delta ? "delta_bytes" : subscribe ? "keyframe_bytes" : "other_keyframe_bytes";
      first[into] += b + wsHeader(b);
      first.rows = rec.r[i]!;
    }
    // A tick is timed whole only when this client got every frame of it, in order, from its first.
    const ends = rec.m[i] === 0;
    if (kind === KIND.key) c.tickT = -1;
    else {
      if (ends) tickEnds.add(seq);
      if (seq !== c.nextSeq) c.tickT = -1;
      else if (c.ended) c.tickT = rec.st[i]!;
      if (ends && c.tickT > 0 && !subscribe) whole.push(rec.t[i]! - c.tickT);
      if (ends) c.tickT = -1;
    }
    c.ended = ends;
    c.nextSeq = seq + 1;
    if (subscribe) continue;
    if (kind === KIND.key) c.keyAfter++;
    if (rec.st[i]! > 0) {
      lat.push(rec.t[i]! - rec.st[i]!);
      c.timed++;
      const tick = arrivals.get(seq) ?? { t: rec.st[i]!, at: [] };
      tick.at.push(rec.t[i]!);
      arrivals.set(seq, tick);
    }
  }
  const toFirst: number[] = [];
  const spread: number[] = [];
  for (const { t, at } of arrivals.values()) {
    const first = Math.min(...at);
    toFirst.push(first - t);
    for (const a of at) spread.push(a - first);
  }
  const spans = per.map((c) => (c.first < 0 ? 0 : c.last - c.first + 1));
  // Bytes are per container and TICK: a tick sent in several frames is still one sample each.
  const ends = [...tickEnds];
  const tickSpans = per.map((c) =>
    c.first < 0 ? 0 : ends.filter((s) => s >= c.first && s <= c.last).length,
  );
  const perSample = per.map((c, i) => c.bytes / (Math.max(1, tickSpans[i]!) * containers));
  return {
    containers,
    clients,
    ticks: tickEnds.size,
    frames_per_tick: round(all.size / Math.max(1, tickEnds.size), 2),
    sample_to_client: percentiles(lat),
    whole_tick_to_client: percentiles(whole),
    tick_to_first_client: percentiles(toFirst),
    spread: percentiles(spread),
    cpu0: m.lag,
    min_frames_per_client: Math.min(...per.map((c) => c.timed)),
    frames_missed: per.reduce((n, c, i) => n + spans[i]! - c.seqs.size, 0),
    keyframes_after_drop: per.reduce((n, c) => n + c.keyAfter, 0),
    bytes_per_sample: { mean: round(mean(perSample), 3), max: round(Math.max(...perSample), 3) },
    first_client: { ...first, ticks: tickSpans[0]!, refused_deltas: rec.refused },
    bad_messages: rec.bad,
    closes: rec.closes,
    panel_cpu_percent: round(m.panelCpu * 100, 1),
    clients_cpu_percent: round(m.clientCpu * 100, 1),
    panel_rss_mib: round(m.rssKiB / 1024, 1),
  };
}

// ---- CPU per 1,000 container-samples: cgroup vs Docker-stats source ----

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
  /** panel + engine CPU in the window, less the idle engine's for as long (never below the panel's own) */
  net_cpu_s: number;
  cpu_s_per_1000_samples: number;
  panel_cpu_s_per_1000_samples: number;
  /** the engine's share: its CPU less its idle CPU (may come out below 0: noise) */
  engine_net_cpu_s_per_1000_samples: number;
}

export interface CpuResult {
  window_seconds: number;
  containers: number;
  /** the engine with no panel, before, between and after the two sides: mean subtracted, spread shown */
  idle: { windows: CpuWindow[]; engine_s: number; spread_s: number };
  cgroup: CpuSide;
  docker: CpuSide & { proxy_cpu_s: number; proxy_bytes_from_engine: number };
  /** cgroup / docker, per 1,000 container-samples */
  ratio: number;
}

const ENGINE_ROLES = {
  dockerd: (c: string) => c === "dockerd",
  containerd: (c: string) => c === "containerd",
  shims: (c: string) => c.startsWith("containerd-shim"),
};

/** CPU of the private engine's processes (their command lines name its directory) and the panel. */
async function cpuWindow(engineDir: string, seconds: number, panelPid?: number): Promise<CpuWindow> {
  const roles = processesBy(ENGINE_ROLES, engineDir);
  if (!roles.dockerd!.length || !roles.containerd!.length)
    throw new Error("the private engine's dockerd or containerd is not in /proc");
  const before = cpuSnapshot([...Object.values(roles).flat(), ...(panelPid ? [panelPid] : [])]);
  await sleep(seconds * 1000);
  const after = processesBy(ENGINE_ROLES, engineDir);
  // Scaled to the nominal window: sleeps overrun by a few ms.
  const scale = seconds / ((performance.now() - before.at) / 1000);
  const of = (pids: number[]) => round(cpuSince(before, pids) * scale, 3);
  return {
    seconds,
    panel_s: panelPid ? of([panelPid]) : 0,
    dockerd_s: of(after.dockerd!),
    containerd_s: of(after.containerd!),
    shims_s: of(after.shims!),
    shim_processes: after.shims!.length,
  };
}

const engineCpu = (w: CpuWindow) => w.dockerd_s + w.containerd_s + w.shims_s;

async function cpuSide(
  panel: Panel,
  engineDir: string,
  dir: string,
  name: string,
  s: StatsSettings,
  beforeWindow?: () => void,
): Promise<{ source: string; window: CpuWindow; samples: number }> {
  const client = await startClients({
    url: streamUrl(panel, "stats:local"),
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
    t0 = performance.timeOrigin + performance.now();
    window = await cpuWindow(engineDir, s.cpuWindowSeconds, panel.child.pid);
    t1 = performance.timeOrigin + performance.now();
  } finally {
    rec = await client.stop();
  }
  let samples = 0;
  for (let i = 0; i < rec.k.length; i++) {
    // Once per tick: its last frame (a tick sent in parts is several frames).
    if (rec.k[i] !== KIND.other && rec.m[i] === 0 && rec.t[i]! > t0 && rec.t[i]! <= t1) samples += rec.r[i]!;
  }
  return { source: rec.source, window, samples };
}

function finishSide(
  side: { source: string; window: CpuWindow; samples: number },
  idleEngineS: number,
): CpuSide {
  const w = side.window;
  const net = Math.max(w.panel_s + engineCpu(w) - idleEngineS, w.panel_s);
  const per1000 = (v: number) => round((v / side.samples) * 1000, 4);
  return {
    ...side,
    net_cpu_s: round(net, 3),
    cpu_s_per_1000_samples: per1000(net),
    panel_cpu_s_per_1000_samples: per1000(w.panel_s),
    engine_net_cpu_s_per_1000_samples: per1000(engineCpu(w) - idleEngineS),
  };
}

async function benchCpu(
  target: Target,
  engine: SecondEngine,
  dir: string,
  containers: number,
  s: StatsSettings,
): Promise<CpuResult> {
  const idle: CpuWindow[] = [];
  const idleWindow = async (when: string) => {
    log(`stats CPU: idle engine, no panel, ${when} (${s.cpuWindowSeconds} s)`);
    // Whatever the engine still does for a panel just stopped (closing streams) settles first.
    await sleep(2_000);
    idle.push(await cpuWindow(engine.dir, s.cpuWindowSeconds));
  };
  await idleWindow("before");
  const cg = await statsPanel(target, dir, engine.url, containers, "cpu-cgroup");
  let cgroup: Awaited<ReturnType<typeof cpuSide>>;
  try {
    cgroup = await cpuSide(cg.panel, engine.dir, dir, "cgroup", s);
  } finally {
    await cg.panel.child.stop();
  }
  await idleWindow("between");
  const proxy = await startTcpProxy(engine.socketPath, freePort(), dir, WORKER_MAX_MS);
  let docker: Awaited<ReturnType<typeof cpuSide>>;
  let proxyCpu = 0;
  let proxyBytes = 0;
  try {
    const dk = await statsPanel(target, dir, proxy.url, containers, "cpu-docker");
    try {
      let proxyBefore: CpuSnapshot | undefined;
      docker = await cpuSide(dk.panel, engine.dir, dir, "docker", s, () => {
        proxyBefore = cpuSnapshot([proxy.pid]);
      });
      if (proxyBefore) proxyCpu = cpuSince(proxyBefore, [proxy.pid]);
    } finally {
      await dk.panel.child.stop();
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
    containers,
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

// ---- the group ----

export interface SizeResult {
  containers: number;
  busy: number;
  source: string;
  /** the panel with no client, just before the phases */
  idle_rss_mib: number;
  phases: Phase[];
  /**
   * The bare server (bench/lib/bare-stream.ts) with the same clients, the same bytes and frames a
   * tick, the panel stopped meanwhile: the machine's floor under the panel's 100-client phase.
   */
  bare?: Phase;
  /**
   * The same, but the bare server reads those containers' files each tick with the panel's own
   * reader and sends each part as it is read: the floor of reading them on this machine.
   */
  bare_reader?: Phase;
}

export interface StatsResult {
  busy_share: number;
  busy_cmd: string;
  pinning: string;
  engine_json: Awaited<ReturnType<typeof dockerStatsLineBytes>>;
  cpu: CpuResult | { error: string };
  sizes: SizeResult[];
  /** idle RSS growth per container from the first size to the last, same panel (KiB) */
  growth_kib_per_container?: number;
  /** a size that could not be measured (the ones before it were) */
  failed?: { containers: number; error: string };
}

export async function benchStats(target: Target, s: StatsSettings): Promise<StatsResult> {
  const { SecondEngine } = await import("../tests/helpers/second-engine.ts");
  // Not under tempDir(): other bench runs sweep those of processes that are not bench/run.ts.
  const dir = mkdtempSync(join(tmpdir(), "gpstats-"));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  log("stats: starting a private engine");
  const engine = await SecondEngine.start();
  let stopping: Promise<void> | undefined;
  const stopEngine = () => {
    stopping ??= engine.stop();
    return stopping;
  };
  // Removing 1,000 containers takes minutes on a loaded machine.
  defer("private engine", stopEngine, 900_000);
  engine.loadImage(IMAGE);
  await createMixNetwork(engine.socketPath);
  const sizes: SizeResult[] = [];
  let cpu: StatsResult["cpu"] = { error: "not run" };
  let engineJson: StatsResult["engine_json"] | undefined;
  let panel: Panel | undefined;
  let made = 0;
  let failed: StatsResult["failed"];
  try {
    for (const size of s.sizes) {
      try {
        const measured = await measureSize(size);
        sizes.push(measured);
      } catch (err) {
        // What the smaller sizes measured still counts; the first size failing fails the group.
        if (!sizes.length || isStopping()) throw err;
        failed = { containers: size, error: (err as Error).message };
        log(`stats: ${size} containers: FAILED: ${(err as Error).stack}`);
        break;
      }
    }
  } finally {
    await panel?.child.stop();
    await stopEngine();
  }

  async function measureSize(size: number): Promise<SizeResult> {
    log(`stats: starting containers ${made} to ${size - 1}`);
    const ids = await startMix(engine.socketPath, made, size, dir);
    made = size;
    if (!engineJson) {
      log(
        `stats: reading the engine's ${Math.min(ids.length, 100)} stats streams for ${s.dockerStreamSeconds} s`,
      );
      engineJson = await dockerStatsLineBytes(engine.socketPath, ids.slice(0, 100), s.dockerStreamSeconds);
      try {
        // The Docker-stats source opens a stream per container: at 1,000 it is the engine's load we'd measure.
        if (size > 200) cpu = { error: `not run: the first size (${size}) is over 200 containers` };
        else cpu = await benchCpu(target, engine, dir, size, s);
        log(`stats CPU: ${JSON.stringify(cpu)}`);
      } catch (err) {
        log(`stats CPU: FAILED: ${(err as Error).stack}`);
        cpu = { error: (err as Error).message };
      }
    }
    let source: string;
    if (!panel) ({ panel, source } = await statsPanel(target, dir, engine.url, size, "main"));
    else source = await figuresFor(panel, size, 300_000);
    await sleep(3 * s.intervalMs);
    const size_: SizeResult = {
      containers: size,
      busy: Array.from({ length: size }, (_, i) => busyIndex(i)).filter((k) => k !== undefined).length,
      source,
      idle_rss_mib: round(memoryOf(panel.child.pid).rssKiB / 1024, 1),
      phases: [],
    };
    for (const n of s.clientCounts) {
      size_.phases.push(await phase(panelServer(panel), dir, size, n, s));
      // Each phase as it ends: a run cut short still leaves what it measured.
      log(`stats phase: ${JSON.stringify(size_.phases.at(-1))}`);
    }
    const beside = size_.phases.find((p) => p.clients === STATS_BUDGETS.p99Clients);
    if (beside) {
      size_.bare = await barePhase(panel, dir, beside, s);
      log(`stats phase (bare server): ${JSON.stringify(size_.bare)}`);
      size_.bare_reader = await barePhase(panel, dir, beside, s, await targetsOf(engine.socketPath, ids));
      log(`stats phase (bare reader): ${JSON.stringify(size_.bare_reader)}`);
    }
    return size_;
  }
  const [a, z] = [sizes[0]!, sizes.at(-1)!];
  return {
    busy_share: BUSY_SHARE,
    busy_cmd: BUSY_CMD("<partner>").join(" "),
    pinning:
      cpus().length > 1
        ? "panel on CPU 0, client processes on CPU 1 (taskset); engine and containers unpinned"
        : "none (one CPU)",
    engine_json: engineJson!,
    cpu,
    sizes,
    growth_kib_per_container:
      a === z
        ? undefined
        : round(((z.idle_rss_mib - a.idle_rss_mib) * 1024) / (z.containers - a.containers), 1),
    failed,
  };
}

// ---- the table ----

/** The group's rows and budgets (bench/run.ts and the standalone run print the same). */
export function statsRows(r: StatsResult): { rows: Row[]; budgets: Budget[] } {
  const rows: Row[] = [];
  const budgets: Budget[] = [];
  const row = (x: Row) => {
    rows.push(x);
    if (x.budget) budgets.push(x.budget);
  };
  const x = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)}x`;
  const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
  const B = (n: number) => `${n < 100 ? n.toFixed(2) : n.toFixed(0)} B`;
  const json = r.engine_json.bytes_per_sample;
  for (const size of r.sizes) {
    const name = `stats, ${size.containers} containers (${size.busy} busy)`;
    const one = size.phases.find((p) => p.clients === 1);
    for (const p of size.phases) {
      const limit = p.clients === STATS_BUDGETS.p99Clients ? STATS_BUDGETS.p99Ms[size.containers] : undefined;
      const base = one && p !== one;
      const who = `${p.clients} client${p.clients === 1 ? "" : "s"}`;
      for (const q of ["p50", "p99"] as const) {
        const v = p.sample_to_client[`${q}_ms`];
        const bv = one?.sample_to_client[`${q}_ms`];
        row({
          benchmark: name,
          metric: `sample→client ${q}, ${who}${q === "p99" ? ` (${p.sample_to_client.n} frames, ≥ ${p.min_frames_per_client} each)` : ""}`,
          panel: ms(v),
          baseline: base && bv !== undefined ? `${ms(bv)} (1 client)` : "",
          ratio: base && bv ? x(v / bv) : "",
          budget:
            q === "p99" && limit !== undefined
              ? budget(name, `sample→client p99, ${who}`, v, "ms", "max", limit)
              : undefined,
        });
      }
      const pq = (v: Percentiles) => `${v.p50_ms.toFixed(1)} / ${v.p99_ms.toFixed(1)}`;
      const floors =
        p.clients === STATS_BUDGETS.p99Clients
          ? ([
              [size.bare, "a bare server (same clients, bytes and frames a tick, panel stopped", "bare"],
              [
                size.bare_reader,
                "a bare reader (the panel's own cgroup reader and parts, same clients and bytes, no panel",
                "reader",
              ],
            ] as const)
          : [];
      for (const [floor, what, short] of floors) {
        if (!floor) continue;
        row({
          benchmark: name,
          metric: `  p50 / p99 ms, ${who}, against ${what}; its CPU 0 timer lag ${pq(floor.cpu0.timer_lag)})`,
          panel: pq(p.sample_to_client),
          baseline: `${pq(floor.sample_to_client)} (${short})`,
          ratio: `${x(p.sample_to_client.p50_ms / floor.sample_to_client.p50_ms)} / ${x(p.sample_to_client.p99_ms / floor.sample_to_client.p99_ms)}`,
        });
      }
      row({
        benchmark: name,
        metric: `  p50 / p99 ms: a whole tick (first frame's t → last frame), ${who}; ${p.frames_per_tick} frames a tick`,
        panel: pq(p.whole_tick_to_client),
        baseline: "",
        ratio: "",
      });
      const waited = (q: Phase | undefined) =>
        q?.main_thread ? `${q.main_thread.wait_ms_per_s} / ${q.main_thread.run_ms_per_s}` : "—";
      row({
        benchmark: name,
        metric: `  main thread, ms a second: waited for its CPU / ran, ${who}${p.clients === STATS_BUDGETS.p99Clients ? "; bare reader beside it" : ""}`,
        panel: waited(p),
        baseline: p.clients === STATS_BUDGETS.p99Clients ? `${waited(size.bare_reader)} (reader)` : "",
        ratio: "",
      });
      row({
        benchmark: name,
        metric: "  p50 / p99 ms: frame→first client; fan-out spread | on CPU 0: timer lag; 2 ms of CPU",
        panel: `${pq(p.tick_to_first_client)}; ${pq(p.spread)}`,
        baseline: `${pq(p.cpu0.timer_lag)}; ${pq(p.cpu0.wall_for_2ms_cpu)}`,
        ratio: "",
      });
      row({
        benchmark: name,
        metric: `B per container-sample, ${who} (stats + host, keyframes, WS headers)${p.clients > 1 ? ": mean / max" : ""}`,
        panel:
          p.clients > 1
            ? `${B(p.bytes_per_sample.mean)} / ${B(p.bytes_per_sample.max)}`
            : B(p.bytes_per_sample.mean),
        baseline: `${B(json)} (engine JSON)`,
        ratio: `${x(json / p.bytes_per_sample.mean)} fewer`,
        budget: budget(
          name,
          `bytes per container-sample, ${who}`,
          p.bytes_per_sample.max,
          "B",
          "max",
          STATS_BUDGETS.bytesPerSample,
        ),
      });
      const f = p.first_client;
      const perS = (v: number) => B(v / (f.ticks * size.containers));
      row({
        benchmark: name,
        metric: `  first client: keyframe / deltas / host / later keyframes, ${f.ticks} ticks`,
        panel: `${perS(f.keyframe_bytes)} / ${perS(f.delta_bytes)} / ${perS(f.host_bytes)} / ${perS(f.other_keyframe_bytes)}`,
        baseline: `table ${f.rows} rows`,
        ratio: f.refused_deltas ? `${f.refused_deltas} refused` : "",
      });
      row({
        benchmark: name,
        metric: `  CPU panel / clients; frames missed; keyframes after a drop`,
        panel: `${p.panel_cpu_percent}% / ${p.clients_cpu_percent}%`,
        baseline: `${p.frames_missed} missed, ${p.keyframes_after_drop} keyframes`,
        ratio: "",
      });
      if (p.clients === 100 && size === r.sizes[0]) {
        row({
          benchmark: name,
          metric: `VmRSS with ${who}`,
          panel: `${p.panel_rss_mib.toFixed(1)} MiB`,
          baseline: `${size.idle_rss_mib.toFixed(1)} MiB (no client)`,
          ratio: x(p.panel_rss_mib / size.idle_rss_mib),
          budget: budget(name, `VmRSS with ${who}`, p.panel_rss_mib, "MiB", "max", STATS_BUDGETS.rssMiB),
        });
      }
    }
  }
  if (r.failed) {
    row({
      benchmark: `stats, ${r.failed.containers} containers`,
      metric: "FAILED",
      panel: r.failed.error.slice(0, 60),
      baseline: "",
      ratio: "",
    });
  }
  const c = r.cpu;
  if ("error" in c) {
    // Not run (a first size over 200) is a choice of the run, not a failure.
    const metric = c.error.startsWith("not run") ? "skipped" : "FAILED";
    row({ benchmark: "stats CPU", metric, panel: c.error.slice(0, 60), baseline: "", ratio: "" });
  } else {
    const per = (n: number) => `${(n * 1000).toFixed(2)} ms`;
    row({
      benchmark: `stats CPU, ${c.containers} containers`,
      metric: "panel+engine CPU per 1000 container-samples",
      panel: `${per(c.cgroup.cpu_s_per_1000_samples)} (cgroup)`,
      baseline: `${per(c.docker.cpu_s_per_1000_samples)} (docker)`,
      ratio: x(c.ratio),
      budget: budget("stats CPU", "cgroup / docker source CPU", c.ratio, "x", "max", STATS_BUDGETS.cpuRatio),
    });
    row({
      benchmark: `stats CPU, ${c.containers} containers`,
      metric: "  the panel's own share",
      panel: per(c.cgroup.panel_cpu_s_per_1000_samples),
      baseline: per(c.docker.panel_cpu_s_per_1000_samples),
      ratio: x(c.cgroup.panel_cpu_s_per_1000_samples / c.docker.panel_cpu_s_per_1000_samples),
    });
    row({
      benchmark: `stats CPU, ${c.containers} containers`,
      metric: `  the engine's share, net of idle (idle spread ${per((c.idle.spread_s / c.cgroup.samples) * 1000)})`,
      panel: per(c.cgroup.engine_net_cpu_s_per_1000_samples),
      baseline: per(c.docker.engine_net_cpu_s_per_1000_samples),
      ratio: "",
    });
  }
  return { rows, budgets };
}

/** The group's settings: full, or --quick (100 containers only, shorter phases). */
export function statsSettings(quick: boolean, argv: string[]): StatsSettings {
  const sizes = flagValue(argv, "--sizes")?.split(",").map(Number);
  const ticks = flagValue(argv, "--ticks");
  if (sizes?.some((n) => !Number.isInteger(n) || n < 1) || (ticks && !(Number(ticks) >= 10))) {
    throw new Error("--sizes takes container counts (e.g. 100,1000), --ticks a number ≥ 10");
  }
  return {
    sizes: sizes ?? (quick ? [100] : [100, 1000]),
    intervalMs: 1_000,
    ticks: ticks ? Number(ticks) : quick ? 60 : 300,
    clientCounts: [1, 100],
    dockerStreamSeconds: quick ? 3 : 4,
    cpuWindowSeconds: quick ? 10 : 30,
  };
}

if (import.meta.main) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      void runCleanups().finally(() => process.exit(143));
    });
  }
  const settings = statsSettings(process.argv.includes("--quick"), process.argv);
  const dir = mkdtempSync(join(tmpdir(), "gpstats-target-"));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const target = panelTarget(dir);
  const { loadavg } = await import("node:os");
  const load = loadavg().map((l) => round(l, 2));
  try {
    const r = await benchStats(target, settings);
    console.log(
      `stats (${target.kind} ${target.path}; ${Math.round(BUSY_SHARE * 100)} % busy; ${r.pinning}; load ${load.join(" ")} → ${loadavg()
        .map((l) => round(l, 2))
        .join(" ")})`,
    );
    console.log(table(statsRows(r).rows));
    console.log(
      JSON.stringify({ target, settings, loadavg: { start: load, end: loadavg() }, ...r }, null, 2),
    );
  } finally {
    await runCleanups();
  }
}
