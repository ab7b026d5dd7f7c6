/**
 * bench/quic (issue #12, point 7): group `quic` of bench/run.ts.
 *
 * On a private dockerd (tests/helpers/second-engine.ts) with 50 running containers, 30 % of them
 * busy (bench/stats.ts's mix), one panel (`--tls auto --agent-listen`, stats every 1 s):
 *
 *   (a) age of the newest stats frame at a watch-like client, over QUIC datagrams (src/watch/quic.ts,
 *       src/protocol/stats-datagrams.ts, as `ghostpanel watch --via quic`) and over the WebSocket
 *       (StatsTable, as `--via ws`), both at once through the impairment relay (tests/helpers/relay.ts:
 *       UDP in front of the agent listener, TCP in front of the HTTPS port, 50 ms each way), at 0 %
 *       and at 3 % loss, `clients` of each at once (loss is drawn per datagram and per segment, so
 *       each client is a sample of its own). Two ages, both from the `t` of a frame (when the panel
 *       read the tick):
 *       - the tick's delay, which the budget is applied to: for every tick the panel read in the
 *         phase, the time until the client showed it or a newer one. A tick lost for good counts
 *         until the next tick (or a keyframe) made up for it; one never made up counts to the
 *         phase's end. This is where loss shows, and head-of-line blocking.
 *       - the sampled age: every 50 ms, now − `t` of the newest frame applied. It includes the
 *         wait between 1 s ticks, the same 0..1 s over any transport, so its p99 is near one
 *         interval for both and says little of the path; it is printed beside.
 *   (b) bytes at the client for that dashboard, per minute: the frames' bytes (QUIC: datagrams and
 *       the control stream; WebSocket: messages and their headers), and what crossed the relay
 *       (UDP payloads, both ways, QUIC's acks and headers included; TCP bytes, both ways, TLS
 *       included), from the 0 % phase.
 *   (c) bench/agent-call.ts, run as it is: a container inspect through an agent vs straight.
 *   (d) 100 agents (the real agent, joined with real join tokens, QUIC, bench/lib/agent-swarm.ts)
 *       linked to a second panel and idle: its CPU (% of one core) and RSS, against the same panel
 *       with no agent, measured before they came. Their engine is the private dockerd, with no
 *       container of its own at that point.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Frame } from "../src/protocol/frames.ts";
import { decodeFrame } from "../src/protocol/frames.ts";
import { StatsParts } from "../src/protocol/stats-datagrams.ts";
import type { QuicWatchInfo } from "../src/protocol/watch-quic.ts";
import { encodeFrame } from "../src/stream/frames.ts";
import { quicStream } from "../src/watch/quic.ts";
import { Relay } from "../tests/helpers/relay.ts";
import { IMAGE } from "./lib/engine.ts";
import { type Panel, startPanel } from "./lib/panel.ts";
import { cpuSince, cpuSnapshot, INSECURE_TLS, memoryOf, start, type Target } from "./lib/process.ts";
import { type Budget, budget, type Row } from "./lib/report.ts";
import { type Applied, tickDelays } from "./lib/tick-delays.ts";
import { defer, freePort, log, percentile, ROOT, round, sleep, waitFor } from "./lib/util.ts";
import { createMixNetwork, startMix } from "./stats.ts";

export interface QuicSettings {
  containers: number;
  /** each loss phase of (a), and the bytes of (b) */
  phaseSeconds: number;
  losses: number[];
  /** one-way delay of the relay */
  delayMs: number;
  agents: number;
  /** CPU and RSS of (d) are read over this long */
  idleSeconds: number;
  /** calls of (c), per kind */
  calls: number;
  /** watch clients of (a) per transport */
  clients: number;
}

export function quicSettings(quick: boolean): QuicSettings {
  return {
    containers: 50,
    phaseSeconds: quick ? 20 : 120,
    losses: [0, 0.03],
    delayMs: 50,
    agents: 100,
    idleSeconds: quick ? 10 : 60,
    calls: quick ? 100 : 400,
    clients: quick ? 2 : 8,
  };
}

export const QUIC_BUDGETS = {
  /** at 3 % loss, QUIC's p99 tick delay at most a third of the WebSocket's */
  ageP99Ratio: 1 / 3,
  /** a 50-container dashboard, bytes per second */
  dashboardBytesPerSecond: 1000,
  /** 100 idle agents: % of one core, and MB of RSS */
  agentsCpuPercent: 2,
  agentsRssMB: 60,
  /** an API call through an agent on loopback, added at p50 */
  agentCallAddedMs: 2,
};

interface Ages {
  /** the tick's delay (see the header), over every client's ticks */
  tick_p50_ms: number;
  tick_p99_ms: number;
  ticks: number;
  /** the sampled age */
  p50_ms: number;
  p99_ms: number;
  arrival_p50_ms: number;
  arrival_p99_ms: number;
  frames: number;
  /** ticks of which the client applied a keyframe (on loss, over QUIC) */
  keyframes: number;
  /** bytes of frames the client got (see the header) */
  bytes: number;
}

export interface AgePhase {
  loss: number;
  quic: Ages;
  ws: Ages;
  /** quic / ws, of the ticks' delay p99 and of the sampled age p99 */
  tick_p99_ratio: number;
  p99_ratio: number;
  relay_udp_bytes: number;
  relay_tcp_bytes: number;
  udp_dropped: number;
}

export interface QuicResult {
  containers: number;
  phases: AgePhase[];
  bytes_per_minute: { quic_frames: number; ws_frames: number; quic_udp: number; ws_tcp: number };
  agent_call: Record<string, number> | { error: string };
  agents:
    | {
        count: number;
        idle_cpu_percent: number;
        agents_cpu_percent: number;
        idle_rss_mb: number;
        agents_rss_mb: number;
      }
    | { error: string };
}

/** A client of `stats:local` that keeps what it applied; `bytes` counts what it was sent. */
class Watcher {
  readonly parts = new StatsParts();
  arrivals: number[] = [];
  readonly ages: number[] = [];
  /** while sampling: each frame applied, by its tick's `t` and when */
  applied: Applied[] = [];
  readonly keys = new Set<number>();
  bytes = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  frame(f: Frame, size: number): void {
    this.bytes += size;
    if (f.t === "stats:local" && this.parts.apply(f.k, f.d)) {
      const { s, t } = f.d as { s: number; t: number };
      const at = Date.now();
      this.arrivals.push(at - t);
      if (this.timer) this.applied.push({ t, at });
      if (f.k === "key") this.keys.add(s);
    }
  }

  /** From now on: what came before (the keyframe on subscribe, all its parts) is not counted. */
  sample(): void {
    this.bytes = 0;
    this.arrivals = [];
    this.applied = [];
    this.keys.clear();
    this.timer = setInterval(() => {
      if (this.parts.table.sampledAt) this.ages.push(Date.now() - this.parts.table.sampledAt);
    }, 50);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  delays(ticks: number[], end: number): number[] {
    return tickDelays(this.applied, ticks, end);
  }
}

/** Every client's ticks and samples of one transport, as one set of figures. */
function ages(watchers: Watcher[], ticks: number[], end: number): Ages {
  const delays = watchers.flatMap((w) => w.delays(ticks, end));
  const sampled = watchers.flatMap((w) => w.ages);
  const arrivals = watchers.flatMap((w) => w.arrivals);
  const sum = (f: (w: Watcher) => number) => watchers.reduce((n, w) => n + f(w), 0);
  return {
    tick_p50_ms: round(percentile(delays, 50), 1),
    tick_p99_ms: round(percentile(delays, 99), 1),
    ticks: delays.length,
    p50_ms: round(percentile(sampled, 50), 1),
    p99_ms: round(percentile(sampled, 99), 1),
    arrival_p50_ms: round(percentile(arrivals, 50), 1),
    arrival_p99_ms: round(percentile(arrivals, 99), 1),
    frames: arrivals.length,
    keyframes: sum((w) => w.keys.size),
    // One dashboard's bytes: the clients' mean.
    bytes: Math.round(sum((w) => w.bytes) / watchers.length),
  };
}

/** A tick this close to the phase's end may still be on its way: not counted. */
const TICK_GRACE_MS = 3_000;

/** The WebSocket's framing on the client's side of the wire: 2, 4 or 10 bytes of header. */
const wsHeader = (n: number) => (n < 126 ? 2 : n < 65_536 ? 4 : 10);

function wsWatch(url: string, token: string, w: Watcher): () => void {
  const ws = new WebSocket(`${url.replace("https:", "wss:")}/api/v1/stream?topics=stats:local`, {
    headers: { authorization: `Bearer ${token}` },
    ...INSECURE_TLS,
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => {
    const bytes = new Uint8Array(e.data as ArrayBuffer);
    w.frame(decodeFrame(bytes), bytes.byteLength + wsHeader(bytes.byteLength));
  };
  return () => ws.close();
}

function quicWatch(port: number, fingerprint: string, token: string, w: Watcher): () => void {
  const stop = new AbortController();
  const target = { host: "127.0.0.1", port, fingerprint, servername: "localhost" };
  // quicStream hands frames, not bytes: encoded again as the panel encodes them, the same length.
  const size = (f: Frame) => encodeFrame(f.t, { k: f.k, d: f.d }).byteLength;
  quicStream(target, token, ["stats:local"], (f) => w.frame(f, size(f)), stop.signal).catch((err) =>
    log(`quic: the watch link ended: ${(err as Error).message}`),
  );
  return () => stop.abort();
}

async function agePhase(panel: Panel, info: QuicWatchInfo, loss: number, s: QuicSettings): Promise<AgePhase> {
  const quicPort = Number(info.address.split(":").at(-1));
  const httpsPort = Number(new URL(panel.url).port);
  const impairment = { delayMs: s.delayMs, loss };
  const udp = await Relay.start("udp", quicPort, impairment);
  const tcp = await Relay.start("tcp", httpsPort, impairment);
  const quic = Array.from({ length: s.clients }, () => new Watcher());
  const ws = Array.from({ length: s.clients }, () => new Watcher());
  const stops = [
    ...quic.map((w) => quicWatch(udp.port, info.fingerprint, panel.token, w)),
    ...ws.map((w) => wsWatch(`https://127.0.0.1:${tcp.port}`, panel.token, w)),
  ];
  const all = [...quic, ...ws];
  try {
    // Every client has its keyframe, every part of it, and a few deltas before the clock starts.
    await waitFor("every client's first frames", 60_000, () =>
      all.every((w) => w.arrivals.length > 2) ? true : undefined,
    );
    const base = { udp: udp.counts.bytes, tcp: tcp.counts.bytes, dropped: udp.counts.dropped };
    const begin = Date.now();
    for (const w of all) w.sample();
    await sleep(s.phaseSeconds * 1000);
    const end = Date.now();
    for (const w of all) w.stop();
    // The panel's ticks in the phase: every one some client was shown.
    const ticks = [...new Set(all.flatMap((w) => w.applied.map((a) => a.t)))]
      .filter((t) => t >= begin && t <= end - TICK_GRACE_MS)
      .sort((a, b) => a - b);
    const q = ages(quic, ticks, end);
    const w = ages(ws, ticks, end);
    return {
      loss,
      quic: q,
      ws: w,
      tick_p99_ratio: round(q.tick_p99_ms / w.tick_p99_ms, 3),
      p99_ratio: round(q.p99_ms / w.p99_ms, 3),
      relay_udp_bytes: udp.counts.bytes - base.udp,
      relay_tcp_bytes: tcp.counts.bytes - base.tcp,
      udp_dropped: udp.counts.dropped - base.dropped,
    };
  } finally {
    for (const stop of stops) stop();
    await sleep(200);
    udp.stop();
    tcp.stop();
  }
}

/** (c): bench/agent-call.ts in a process of its own; its last line is its JSON. */
function agentCall(calls: number): Record<string, number> {
  const res = Bun.spawnSync(
    [process.execPath, join(ROOT, "bench", "agent-call.ts"), "--calls", String(calls)],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 15 * 60_000,
    },
  );
  const lines = res.stdout.toString().trim().split("\n");
  if (res.exitCode !== 0) throw new Error(`agent-call: ${res.stderr.toString().trim().slice(-500)}`);
  return JSON.parse(lines.at(-1)!) as Record<string, number>;
}

/** CPU (% of one core) and RSS (MB) of a process over `seconds`. */
async function usage(pid: number, seconds: number): Promise<{ cpu: number; rssMB: number }> {
  const before = cpuSnapshot([pid]);
  await sleep(seconds * 1000);
  const cpu = (cpuSince(before, [pid]) / seconds) * 100;
  return { cpu: round(cpu, 2), rssMB: round((memoryOf(pid).rssKiB * 1024) / 1e6, 1) };
}

/** (d): a panel alone, then with `count` idle agents linked. */
async function idleAgents(target: Target, dir: string, engineUrl: string, s: QuicSettings) {
  const panel = await startPanel({
    target,
    dataDir: join(dir, "data-agents"),
    tls: "auto",
    workDir: dir,
    engineUrl,
    args: ["--agent-listen", `127.0.0.1:${freePort()}`],
  });
  try {
    await sleep(5_000);
    const idle = await usage(panel.child.pid, s.idleSeconds);
    const tokens: string[] = [];
    for (let i = 0; i < s.agents; i++) {
      const made = (await panel.api("/api/v1/agents/join-tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: `bench-agent-${i}` }),
      })) as { token: string };
      tokens.push(made.token);
    }
    const swarm = start(
      [process.execPath, join(ROOT, "bench", "lib", "agent-swarm.ts"), panel.url, engineUrl, dir, ...tokens],
      join(dir, "agent-swarm.log"),
    );
    try {
      await waitFor(
        `${s.agents} agents up`,
        300_000,
        async () => {
          const envs = (await panel.api("/api/v1/envs")) as { status: string }[];
          return envs.filter((e) => e.status === "up").length >= s.agents + 1 ? true : undefined;
        },
        1000,
      );
      // Their joins and first reads done, they sit idle: pings on their control streams.
      await sleep(10_000);
      const linked = await usage(panel.child.pid, s.idleSeconds);
      return {
        count: s.agents,
        idle_cpu_percent: idle.cpu,
        agents_cpu_percent: linked.cpu,
        idle_rss_mb: idle.rssMB,
        agents_rss_mb: linked.rssMB,
      };
    } finally {
      await swarm.stop();
    }
  } finally {
    await panel.child.stop();
  }
}

export async function benchQuic(target: Target, s: QuicSettings): Promise<QuicResult> {
  const { SecondEngine } = await import("../tests/helpers/second-engine.ts");
  const dir = mkdtempSync(join(tmpdir(), "gpquic-"));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  log("quic: starting a private engine");
  const engine = await SecondEngine.start();
  defer("private engine", () => engine.stop(), 300_000);
  engine.loadImage(IMAGE);
  const engineUrl = `unix://${engine.socketPath}`;

  let agents: QuicResult["agents"];
  try {
    log(`quic: ${s.agents} idle agents`);
    agents = await idleAgents(target, dir, engineUrl, s);
  } catch (err) {
    agents = { error: (err as Error).message };
  }
  let agent_call: QuicResult["agent_call"];
  try {
    log("quic: an API call through an agent (bench/agent-call.ts)");
    agent_call = agentCall(s.calls);
  } catch (err) {
    agent_call = { error: (err as Error).message };
  }

  await createMixNetwork(engine.socketPath);
  await startMix(engine.socketPath, 0, s.containers, dir);
  const panel = await startPanel({
    target,
    dataDir: join(dir, "data-watch"),
    tls: "auto",
    workDir: dir,
    engineUrl,
    args: ["--agent-listen", `127.0.0.1:${freePort()}`],
  });
  const phases: AgePhase[] = [];
  try {
    const info = (await panel.api("/api/v1/stream/quic")) as QuicWatchInfo;
    writeFileSync(join(dir, "quic-info.json"), JSON.stringify(info));
    for (const loss of s.losses) {
      log(`quic: age of stats at ${loss * 100} % loss, ${s.delayMs * 2} ms RTT, ${s.phaseSeconds} s`);
      phases.push(await agePhase(panel, info, loss, s));
    }
  } finally {
    await panel.child.stop();
  }
  const clean = phases[0]!;
  const perMinute = (bytes: number) => Math.round((bytes / s.phaseSeconds) * 60);
  return {
    containers: s.containers,
    phases,
    bytes_per_minute: {
      quic_frames: perMinute(clean.quic.bytes),
      ws_frames: perMinute(clean.ws.bytes),
      // The relay carried every client's: one dashboard's share.
      quic_udp: perMinute(clean.relay_udp_bytes / s.clients),
      ws_tcp: perMinute(clean.relay_tcp_bytes / s.clients),
    },
    agent_call,
    agents,
  };
}

export function quicRows(r: QuicResult): { rows: Row[]; budgets: Budget[] } {
  const rows: Row[] = [];
  const budgets: Budget[] = [];
  const row = (metric: string, panel: string, baseline: string, ratio = "", b?: Budget) => {
    rows.push({ benchmark: "quic", metric, panel, baseline, ratio, budget: b });
    if (b) budgets.push(b);
  };
  for (const p of r.phases) {
    const at = `${p.loss * 100} % loss, ${r.containers} containers, 100 ms RTT`;
    const b =
      p.loss > 0
        ? budget(
            "quic",
            "stats tick delay p99 QUIC / WebSocket",
            p.tick_p99_ratio,
            "x",
            "max",
            round(QUIC_BUDGETS.ageP99Ratio, 3),
          )
        : undefined;
    row(
      `each tick shown after, p50 / p99 (${at}; ${p.quic.ticks} / ${p.ws.ticks} client-ticks)`,
      `QUIC ${p.quic.tick_p50_ms} / ${p.quic.tick_p99_ms} ms`,
      `WebSocket ${p.ws.tick_p50_ms} / ${p.ws.tick_p99_ms} ms`,
      `${p.tick_p99_ratio}x`,
      b,
    );
    row(
      `sampled age of the newest frame p50 / p99, 1 s ticks included (${at})`,
      `QUIC ${p.quic.p50_ms} / ${p.quic.p99_ms} ms`,
      `WebSocket ${p.ws.p50_ms} / ${p.ws.p99_ms} ms`,
      `${p.p99_ratio}x`,
    );
    row(
      `age at arrival p50 / p99 (${at})`,
      `QUIC ${p.quic.arrival_p50_ms} / ${p.quic.arrival_p99_ms} ms`,
      `WebSocket ${p.ws.arrival_p50_ms} / ${p.ws.arrival_p99_ms} ms`,
    );
    row(
      `keyframes after the first, UDP datagrams dropped (${at})`,
      `QUIC ${p.quic.keyframes}, ${p.udp_dropped} dropped`,
      `WebSocket ${p.ws.keyframes}`,
    );
  }
  const b = r.bytes_per_minute;
  row(
    `dashboard bytes/min, frames (${r.containers} containers)`,
    `QUIC ${b.quic_frames}`,
    `WebSocket ${b.ws_frames}`,
  );
  row(
    "dashboard bytes/s on the wire, both ways",
    `QUIC/UDP ${round(b.quic_udp / 60, 1)}`,
    `WebSocket/TLS/TCP ${round(b.ws_tcp / 60, 1)}`,
    "",
    budget(
      "quic",
      "dashboard over QUIC",
      round(b.quic_udp / 60, 1),
      "B/s",
      "max",
      QUIC_BUDGETS.dashboardBytesPerSecond,
    ),
  );
  if ("error" in r.agent_call) row("API call through an agent", `ERROR ${r.agent_call.error}`, "");
  else {
    const c = r.agent_call;
    row(
      "container inspect p50 through an agent (QUIC)",
      `${c.agent_p50_ms} ms`,
      `direct ${c.local_p50_ms} ms`,
      `+${c.added_p50_ms} ms`,
      budget(
        "quic",
        "added by an agent at p50",
        c.added_p50_ms ?? Number.NaN,
        "ms",
        "max",
        QUIC_BUDGETS.agentCallAddedMs,
      ),
    );
  }
  if ("error" in r.agents) row("idle agents", `ERROR ${r.agents.error}`, "");
  else {
    const a = r.agents;
    row(
      `panel CPU with ${a.count} idle agents, % of a core`,
      `${a.agents_cpu_percent} %`,
      `no agent ${a.idle_cpu_percent} %`,
      `+${round(a.agents_cpu_percent - a.idle_cpu_percent, 2)}`,
      budget(
        "quic",
        "CPU added by idle agents",
        round(a.agents_cpu_percent - a.idle_cpu_percent, 2),
        "%",
        "max",
        QUIC_BUDGETS.agentsCpuPercent,
      ),
    );
    row(
      `panel RSS with ${a.count} idle agents`,
      `${a.agents_rss_mb} MB`,
      `no agent ${a.idle_rss_mb} MB`,
      `+${round(a.agents_rss_mb - a.idle_rss_mb, 1)}`,
      budget(
        "quic",
        "RSS added by idle agents",
        round(a.agents_rss_mb - a.idle_rss_mb, 1),
        "MB",
        "max",
        QUIC_BUDGETS.agentsRssMB,
      ),
    );
  }
  return { rows, budgets };
}
