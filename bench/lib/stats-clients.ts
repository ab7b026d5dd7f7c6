/**
 * WebSocket clients of the `stats:<env>` topic, in a process of their own (`bun stats-clients.ts
 * CONFIG`), so a thousand of them can be spread over several processes and their CPU measured apart
 * from the panel's. Each client records, for every message, when it arrived (the run's shared
 * clock, see clock()), its size, its kind, its sequence number and its sample time (the frame's
 * `t`: when the panel read the tick's first file); the ones told to also apply the frames to the
 * shared decoder (src/protocol/stats-frames.ts, StatsTable) record how many containers the table
 * holds after each frame and count the deltas it refused.
 *
 * Commands on stdin: `stop` closes every client, writes the records to `out` and answers `done`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeFrame } from "../../src/protocol/frames.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import { mapLimit } from "./engine.ts";
import { pin } from "./process.ts";
import { clock, emit, WorkerProcess, workerMain } from "./worker.ts";

export interface ClientsConfig {
  /** ws:// or wss:// URL of /api/v1/stream?topics=stats:<env> */
  url: string;
  token: string;
  count: number;
  /** Which clients apply frames to a StatsTable: every one, or only the first. */
  validate: "all" | "first";
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

/**
 * The kind (`k`), sequence number (`d.s`) and sample time (`d.t`) of a stats frame, read by walking
 * the msgpack until all three are found, without building the rest: decoding a keyframe of 100
 * containers in full takes about 0.3 ms, which for 250 clients in one process would measure the
 * clients, not the panel. Undefined for anything it cannot read that way (the caller then decodes
 * in full).
 */
export function peekFrame(b: Uint8Array): { k: string; s: number; t: number } | undefined {
  const r = new MsgpackWalker(b);
  try {
    let k: string | undefined;
    let s: number | undefined;
    let t: number | undefined;
    const top = r.mapSize();
    for (let i = 0; i < top && (k === undefined || s === undefined || t === undefined); i++) {
      const key = r.str();
      if (key === "k") k = r.str();
      else if (key === "d") {
        const inner = r.mapSize();
        for (let j = 0; j < inner && (s === undefined || t === undefined); j++) {
          const field = r.str();
          if (field === "s") s = r.uint();
          else if (field === "t") t = r.num();
          else if (!r.skip()) return undefined;
        }
      } else if (key === undefined || !r.skip()) return undefined;
    }
    return k !== undefined && s !== undefined && t !== undefined && r.p <= b.length ? { k, s, t } : undefined;
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder();
/** Bytes after the type byte, for msgpack's fixed-size types. */
const FIXED: Record<number, number> = {
  204: 1,
  205: 2,
  206: 4,
  207: 8,
  208: 1,
  209: 2,
  210: 4,
  211: 8,
  202: 4,
  203: 8,
};

/** Reads msgpack a value at a time; -1 / undefined / false when the bytes are not what was asked. */
class MsgpackWalker {
  p = 0;
  private readonly view: DataView;

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private take(n: number): number {
    const at = this.p;
    this.p += n;
    if (n === 1) return this.b[at]!;
    return n === 2 ? this.view.getUint16(at) : this.view.getUint32(at);
  }

  mapSize(): number {
    const x = this.take(1);
    if (x >= 0x80 && x <= 0x8f) return x & 0x0f;
    if (x === 0xde) return this.take(2);
    if (x === 0xdf) return this.take(4);
    return -1;
  }

  str(): string | undefined {
    const x = this.take(1);
    let n: number;
    if (x >= 0xa0 && x <= 0xbf) n = x & 0x1f;
    else if (x === 0xd9) n = this.take(1);
    else if (x === 0xda) n = this.take(2);
    else return undefined;
    this.p += n;
    return utf8.decode(this.b.subarray(this.p - n, this.p));
  }

  uint(): number | undefined {
    const x = this.take(1);
    if (x <= 0x7f) return x;
    if (x === 0xcc) return this.take(1);
    if (x === 0xcd) return this.take(2);
    if (x === 0xce) return this.take(4);
    return undefined;
  }

  /** Any number: a time in ms since the epoch is a uint64 or a float64. */
  num(): number | undefined {
    const x = this.b[this.p]!;
    if (x !== 0xcf && x !== 0xcb) return this.uint();
    this.p += 9;
    return x === 0xcf ? Number(this.view.getBigUint64(this.p - 8)) : this.view.getFloat64(this.p - 8);
  }

  /** Steps over one value of any type. */
  skip(): boolean {
    const x = this.take(1);
    if (x <= 0x7f || x >= 0xe0 || x === 0xc0 || x === 0xc2 || x === 0xc3) return true;
    if (x >= 0xa0 && x <= 0xbf) {
      this.p += x & 0x1f;
      return true;
    }
    if (x >= 0x90 && x <= 0x9f) return this.skipN(x & 0x0f);
    if (x >= 0x80 && x <= 0x8f) return this.skipN(2 * (x & 0x0f));
    const fixed = FIXED[x];
    if (fixed !== undefined) {
      this.p += fixed;
      return true;
    }
    const width = { 217: 1, 196: 1, 218: 2, 197: 2, 219: 4, 198: 4 }[x];
    if (width !== undefined) {
      this.p += this.take(width);
      return true;
    }
    if (x === 0xdc) return this.skipN(this.take(2));
    if (x === 0xdd) return this.skipN(this.take(4));
    if (x === 0xde) return this.skipN(2 * this.take(2));
    if (x === 0xdf) return this.skipN(2 * this.take(4));
    return false;
  }

  private skipN(n: number): boolean {
    for (let i = 0; i < n; i++) if (!this.skip()) return false;
    return true;
  }
}

async function runClients(config: ClientsConfig): Promise<() => Promise<void>> {
  const rec: ClientRecords = {
    clients: config.count,
    c: [],
    k: [],
    s: [],
    b: [],
    t: [],
    st: [],
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
        const table = config.validate === "all" || i === 0 ? new StatsTable() : undefined;
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
          let rows = -1;
          try {
            const bytes = new Uint8Array(data);
            const peeked = table ? undefined : peekFrame(bytes);
            const f = peeked ? { k: peeked.k, d: peeked } : decodeFrame(bytes);
            if (f.k === "key" || f.k === "delta") {
              kind = f.k === "key" ? KIND.key : KIND.delta;
              s = (f.d as { s: number }).s;
              st = (f.d as { t: number }).t;
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
