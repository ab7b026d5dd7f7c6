/**
 * The floor under the panel's sample→client latency: a server that does nothing but what the
 * panel's stats stream must do at the least, in a process of its own (`bun bare-stream.ts CONFIG`),
 * pinned where the panel is. On each tick it sends every client the bytes the panel's deltas came to
 * (in the phase it stands beside) in as many frames as the panel's parts, spaced as they were, each
 * stamped `t` as it goes; no engine, no files, no audiences. Clients reach it as they reach the panel
 * (/api/v1/stream, a keyframe first), so what they measure of it is the machine's: its scheduler
 * under the mix, the sends, and the clients' own wake-ups. The panel's figures are read as ratios
 * against it, measured in the same run.
 *
 * With `read` it is the floor of a panel that must read its figures: each tick it reads those
 * containers' cgroup and /proc files with the panel's own reader (src/stats/cgroup-source.ts: the
 * same slices, sleeps and parts), and sends each part as the reader hands it over, stamped with the
 * part's oldest read and carrying its share of the bytes. No collector, encoder, audiences, bus or
 * history: what is left between it and the panel is the panel's own.
 *
 * Commands on stdin: `stop` closes every client and answers `done`.
 */

import { join } from "node:path";
import type { ServerWebSocket } from "bun";
import { CgroupSource } from "../../src/stats/cgroup-source.ts";
import type { RawSample, StatsTarget } from "../../src/stats/sample.ts";
import { encodeFrame } from "../../src/stream/frames.ts";
import { OWN_SESSION } from "./process.ts";
import { emit, WorkerProcess, workerMain } from "./worker.ts";

interface BareConfig {
  port: number;
  topic: string;
  /** bytes of padding in each frame: the panel's delta bytes a tick, less the frame's own fields */
  padBytes: number;
  intervalMs: number;
  /** frames a tick, as many as the panel's (its parts), the bytes shared among them */
  framesPerTick: number;
  /** how far apart a tick's frames go out, ms: the panel's parts follow its reads */
  spacingMs: number;
  maxMs: number;
  /** Read these containers each tick and send what is read as it is read (frames and spacing then unused). */
  read?: StatsTarget[];
}

function serve(config: BareConfig): void {
  const sockets = new Set<ServerWebSocket<unknown>>();
  const frames = Math.max(1, Math.round(config.framesPerTick));
  const pad = new Uint8Array(Math.max(0, Math.round(config.padBytes / frames))).fill(0x5a);
  let s = 0;
  const frame = (k: "key" | "delta", more = false) =>
    encodeFrame(config.topic, { k, d: { s, t: Date.now(), ...(more ? { m: 1 } : {}), p: pad } });
  const server = Bun.serve({
    port: config.port,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      if (new URL(req.url).pathname === "/api/v1/stream" && srv.upgrade(req)) return undefined;
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        sockets.add(ws);
        ws.send(frame("key"));
      },
      message() {},
      close(ws) {
        sockets.delete(ws);
      },
    },
  });
  const send = (f: Uint8Array) => {
    for (const ws of sockets) ws.send(f);
  };
  // A plain interval, as the panel's collector ticks.
  if (config.read) readEachTick(config, config.read, send, () => ++s);
  else
    setInterval(() => {
      for (let i = 0; i < frames; i++) {
        setTimeout(() => {
          s++;
          send(frame("delta", i < frames - 1));
        }, i * config.spacingMs);
      }
    }, config.intervalMs);
  commands.stop = () => {
    for (const ws of sockets) ws.close(1000);
    server.stop(true);
    emit({ type: "done" });
    process.exit(0);
  };
  emit({ type: "ready" });
}

/**
 * Each tick, the targets read as the panel's collector reads them (a read slower than the interval
 * skips a tick), each part sent as soon as the reader hands it over and the rest when the read ends.
 */
function readEachTick(
  config: BareConfig,
  targets: StatsTarget[],
  send: (frame: Uint8Array) => void,
  nextSeq: () => number,
): void {
  const source = new CgroupSource();
  const perContainer = config.padBytes / Math.max(1, targets.length);
  const frameOf = (samples: Iterable<RawSample>, size: number, more: boolean) => {
    let t = Number.POSITIVE_INFINITY;
    for (const sample of samples) t = Math.min(t, sample.at);
    const p = new Uint8Array(Math.round(perContainer * size)).fill(0x5a);
    const d = { s: nextSeq(), t: Number.isFinite(t) ? t : Date.now(), ...(more ? { m: 1 } : {}), p };
    return encodeFrame(config.topic, { k: "delta", d });
  };
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      let sent = 0;
      const all = await source.read(targets, (part) => {
        sent += part.size;
        send(frameOf(part.values(), part.size, true));
      });
      const rest = [...all.values()].slice(sent);
      send(frameOf(rest, rest.length, false));
    } finally {
      busy = false;
    }
  }, config.intervalMs);
}

const commands: { stop?: () => void } = {};

if (import.meta.main) {
  const config = workerMain<BareConfig>((command) => {
    if (command === "stop") commands.stop?.();
  });
  serve(config);
}

// ---- the bench's side ----

export interface BareStream {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export async function startBareStream(config: BareConfig & { dir: string }): Promise<BareStream> {
  const { dir, ...c } = config;
  const worker = new WorkerProcess(
    import.meta.path,
    c,
    join(dir, "bare-stream.log"),
    "bare stream",
    OWN_SESSION,
  );
  try {
    await worker.next("ready", 20_000);
  } catch (err) {
    await worker.child.stop();
    throw err;
  }
  return {
    pid: worker.child.pid,
    url: `ws://127.0.0.1:${c.port}/api/v1/stream`,
    async stop() {
      worker.send("stop");
      await worker.next("done", 10_000).catch(() => undefined);
      await worker.child.stop();
    },
  };
}
