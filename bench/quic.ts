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
 *       and at 3 % loss. Sampled every 50 ms: now − the `t` (when the panel read the tick) of the
 *       newest frame the client applied; so a client that gets every tick sees 0..1 s plus the
 *       path. Also the age at arrival of each frame applied.
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
  };
}

export const QUIC_BUDGETS = {
  /** at 3 % loss, QUIC's p99 age at most a third of the WebSocket's */
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
  /** quic p99 / ws p99 */
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
  readonly keys = new Set<number>();
  bytes = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  frame(f: Frame, size: number): void {
    this.bytes += size;
    if (f.t === "stats:local" && this.parts.apply(f.k, f.d)) {
      const { s, t } = f.d as { s: number; t: number };
      this.arrivals.push(Date.now() - t);
      if (f.k === "key") this.keys.add(s);
    }
  }

  /** From now on: what came before (the keyframe on subscribe, all its parts) is not counted. */
  sample(): void {
    this.bytes = 0;
    this.arrivals = [];
    this.keys.clear();
    this.timer = setInterval(() => {
      if (this.parts.table.sampledAt) this.ages.push(Date.now() - this.parts.table.sampledAt);
    }, 50);
  }

  stop(): Ages {
    clearInterval(this.timer);
    return {
      p50_ms: round(percentile(this.ages, 50), 1),
      p99_ms: round(percentile(this.ages, 99), 1),
      arrival_p50_ms: round(percentile(this.arrivals, 50), 1),
      arrival_p99_ms: round(percentile(this.arrivals, 99), 1),
      frames: this.arrivals.length,
      keyframes: this.keys.size,
      bytes: this.bytes,
    };
  }
}

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
  const quic = new Watcher();
  const ws = new Watcher();
  const stops = [
    quicWatch(udp.port, info.fingerprint, panel.token, quic),
    wsWatch(`https://127.0.0.1:${tcp.port}`, panel.token, ws),
  ];
  try {
    // Both have their keyframe, every part of it, and a few deltas before the clock starts.
    await waitFor("both clients' first frames", 60_000, () =>
      quic.arrivals.length > 2 && ws.arrivals.length > 2 ? true : undefined,
    );
    const base = { udp: udp.counts.bytes, tcp: tcp.counts.bytes, dropped: udp.counts.dropped };
    quic.sample();
    ws.sample();
    await sleep(s.phaseSeconds * 1000);
    const q = quic.stop();
    const w = ws.stop();
    return {
      loss,
      quic: q,
      ws: w,
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
  await startMix(engine.socketPath, 0, s.containers);
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
      quic_udp: perMinute(clean.relay_udp_bytes),
      ws_tcp: perMinute(clean.relay_tcp_bytes),
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
            "stats age p99 QUIC / WebSocket",
            p.p99_ratio,
            "x",
            "max",
            round(QUIC_BUDGETS.ageP99Ratio, 3),
          )
        : undefined;
    row(
      `stats age p50 / p99 (${at})`,
      `QUIC ${p.quic.p50_ms} / ${p.quic.p99_ms} ms`,
      `WebSocket ${p.ws.p50_ms} / ${p.ws.p99_ms} ms`,
      `${p.p99_ratio}x`,
      b,
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
