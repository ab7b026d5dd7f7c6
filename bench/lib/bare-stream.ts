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
 * Commands on stdin: `stop` closes every client and answers `done`.
 */

import { join } from "node:path";
import type { ServerWebSocket } from "bun";
import { encodeFrame } from "../../src/stream/frames.ts";
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
  // A plain interval, as the panel's collector ticks.
  setInterval(() => {
    for (let i = 0; i < frames; i++) {
      setTimeout(() => {
        s++;
        const f = frame("delta", i < frames - 1);
        for (const ws of sockets) ws.send(f);
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
  const worker = new WorkerProcess(import.meta.path, c, join(dir, "bare-stream.log"), "bare stream");
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
