/**
 * WebSocket clients of the `stats:<env>` topic, in a process of their own (`bun stats-clients.ts
 * CONFIG`), so a thousand of them can be spread over several processes and their CPU measured apart
 * from the panel's. Each client records, for every message, when it arrived (the run's shared
 * clock, see clock()), its size, its kind, its sequence number, its sample time (the frame's
 * `t`: when the panel read the frame's first file) and whether more frames of its tick follow; the
 * ones told to also apply the frames to the shared decoder (src/protocol/stats-frames.ts, StatsTable) record how many containers the table
 * holds after each frame and count the deltas it refused.
 *
 * Commands on stdin: `stop` closes every client, writes the records to `out` and answers `done`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeFrame } from "../../src/protocol/frames.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import { mapLimit } from "./engine.ts";
import { peekFrame } from "./peek-frame.ts";
import { pin } from "./process.ts";
import { clock, emit, WorkerProcess, workerMain } from "./worker.ts";

export interface ClientsConfig {
  /** ws:// or wss:// URL of /api/v1/stream?topics=stats:<env> */
  url: string;
  token: string;
  count: number;
  /**
   * Which clients apply frames to a StatsTable: every one, only the first, or none (a server whose
   * frames carry no table, bench/lib/bare-stream.ts).
   */
  validate: "all" | "first" | "none";
  /** Where the records go on `stop`. */
  out: string;
  /** How long connecting every client (and getting each one's keyframe) may take. */
  connectTimeoutMs: number;
  /** Clients connecting at once. */
  parallel: number;
  maxMs: number;
}

/** Kinds in the records. */
export const KIND = { key: 0, delta: 1, other: 2 } as const;

/**
 * One record per message, column-wise: client index, kind, sequence number, bytes, arrival, the
 * frame's sample time (-1 for other messages), rows.
 */
export interface ClientRecords {
  clients: number;
  c: number[];
  k: number[];
  s: number[];
  b: number[];
  t: number[];
  st: number[];
  /** 1 when more frames of the frame's tick follow (its `m`), else 0 (-1 for other messages). */
  m: number[];
  /** Containers in the client's table after the frame; -1 for clients that do not validate. */
  r: number[];
  /** The `src` of the last keyframe. */
  source: string;
  /** Deltas the decoder refused (a gap in the sequence): each means the client's table went stale. */
  refused: number;
  /** Messages that were not msgpack frames, or error frames (other topics' frames are kind `other`). */
  bad: number;
  /** Close codes seen after every client was ready, and how often. */
  closes: Record<string, number>;
  connect_ms: number;
}

const TLS_LOOPBACK = { rejectUnauthorized: false };

async function runClients(config: ClientsConfig): Promise<() => Promise<void>> {
  const rec: ClientRecords = {
    clients: config.count,
    c: [],
    k: [],
    s: [],
    b: [],
    t: [],
    st: [],
    m: [],
    r: [],
    source: "",
    refused: 0,
    bad: 0,
    closes: {},
    connect_ms: 0,
  };
  const sockets: WebSocket[] = [];
  let ready = false;
  const t0 = performance.now();
  await mapLimit(
    Array.from({ length: config.count }, (_, i) => i),
    config.parallel,
    (i) =>
      new Promise<void>((resolve, reject) => {
        const table =
          config.validate === "all" || (config.validate === "first" && i === 0)
            ? new StatsTable()
            : undefined;
        // Bun's WebSocket takes headers and TLS options; the DOM typings know only protocols.
        const ws = new WebSocket(config.url, {
          headers: { authorization: `Bearer ${config.token}` },
          tls: TLS_LOOPBACK,
        } as unknown as string[]);
        ws.binaryType = "arraybuffer";
        sockets.push(ws);
        let keyed = false;
        const timer = setTimeout(
          () => reject(new Error(`client ${i}: no keyframe within ${config.connectTimeoutMs} ms`)),
          config.connectTimeoutMs,
        );
        ws.onmessage = (ev) => {
          const t = clock();
          const data = ev.data as ArrayBuffer;
          let kind: number = KIND.other;
          let s = -1;
          let st = -1;
          let more = -1;
          let rows = -1;
          try {
            const bytes = new Uint8Array(data);
            const peeked = table ? undefined : peekFrame(bytes);
            const f = peeked ? { k: peeked.k, d: peeked } : decodeFrame(bytes);
            if (f.k === "key" || f.k === "delta") {
              kind = f.k === "key" ? KIND.key : KIND.delta;
              s = (f.d as { s: number }).s;
              st = (f.d as { t: number }).t;
              more = (f.d as { m?: number }).m ?? 0;
              if (table) {
                if (!table.apply(f.k, f.d)) rec.refused++;
                rows = table.rows.size;
                if (f.k === "key") rec.source = table.source;
              }
            } else if (f.k === "error") rec.bad++;
          } catch {
            rec.bad++;
          }
          rec.c.push(i);
          rec.k.push(kind);
          rec.s.push(s);
          rec.b.push(data.byteLength);
          rec.t.push(t);
          rec.st.push(st);
          rec.m.push(more);
          rec.r.push(rows);
          if (!keyed && kind === KIND.key) {
            keyed = true;
            clearTimeout(timer);
            resolve();
          }
        };
        ws.onclose = (ev) => {
          if (!keyed) {
            clearTimeout(timer);
            reject(new Error(`client ${i}: closed before its keyframe (${ev.code} ${ev.reason})`));
          } else if (ready) rec.closes[ev.code] = (rec.closes[ev.code] ?? 0) + 1;
        };
      }),
  );
  rec.connect_ms = Math.round(performance.now() - t0);
  ready = true;
  emit({ type: "ready", clients: config.count, connect_ms: rec.connect_ms });
  return async () => {
    ready = false;
    for (const ws of sockets) ws.close(1000);
    await Bun.write(config.out, JSON.stringify(rec));
    emit({ type: "done" });
  };
}

if (import.meta.main) {
  let stop: (() => Promise<void>) | undefined;
  const config = workerMain<ClientsConfig>(async (command) => {
    if (command === "stop" && stop) {
      await stop();
      process.exit(0);
    }
  });
  runClients(config).then(
    (s) => {
      stop = s;
    },
    (err: Error) => emit({ type: "error", message: err.message }),
  );
}

// ---- the bench's side ----

export interface ClientGroup {
  worker: WorkerProcess;
  pid: number;
  connectMs: number;
  /** Closes the clients and gives their records. */
  stop(): Promise<ClientRecords>;
}

/** Starts `count` clients in one process; resolves once every one has its keyframe. */
export async function startClients(
  o: Omit<ClientsConfig, "out" | "connectTimeoutMs" | "parallel" | "maxMs"> & {
    dir: string;
    name: string;
    maxMs: number;
    /** The CPU the process is pinned to (taskset), away from the panel's. */
    cpu?: number;
  },
): Promise<ClientGroup> {
  const out = join(o.dir, `${o.name}.json`);
  const config: ClientsConfig = {
    url: o.url,
    token: o.token,
    count: o.count,
    validate: o.validate,
    out,
    connectTimeoutMs: 60_000 + o.count * 100,
    parallel: 25,
    maxMs: o.maxMs,
  };
  const worker = new WorkerProcess(import.meta.path, config, join(o.dir, `${o.name}.log`), o.name);
  try {
    if (o.cpu !== undefined && !pin(worker.child.pid, o.cpu))
      throw new Error(`taskset: could not pin ${o.name}`);
    const ready = await worker.next("ready", config.connectTimeoutMs + 10_000);
    return {
      worker,
      pid: worker.child.pid,
      connectMs: Number(ready.connect_ms),
      async stop() {
        worker.send("stop");
        await worker.next("done", 60_000);
        await worker.child.stop();
        return JSON.parse(readFileSync(out, "utf8")) as ClientRecords;
      },
    };
  } catch (err) {
    await worker.child.stop();
    throw err;
  }
}
