import type { Engine } from "../engine/engine.ts";
import { containerPath } from "../engine/paths.ts";
import type { RawSample, StatsSource, StatsTarget } from "./sample.ts";

/** The part of the engine's stats JSON (`GET /containers/{id}/stats`) turned into a RawSample. */
export interface DockerStatsJson {
  read?: string;
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/**
 * One sample of Docker's stats JSON as a RawSample, with the docker CLI's choices: memory is usage
 * less total_inactive_file (cgroup v1) or inactive_file (v2); block I/O sums the "read"/"write"
 * entries in any case; network sums every interface. Undefined for the empty samples the engine
 * sends for a container that is not running (`read` at the zero time, no memory figures).
 */
export function fromDockerStats(json: DockerStatsJson, receivedAt = Date.now()): RawSample | undefined {
  const readAt = json.read ? Date.parse(json.read) : Number.NaN;
  const mem = json.memory_stats;
  if (!(readAt > 0) || !mem || mem.usage === undefined) return undefined;
  const cpu = json.cpu_stats ?? {};
  const usage = mem.usage;
  const stats = mem.stats ?? {};
  let mem_usage = usage;
  const v1Inactive = stats.total_inactive_file;
  const v2Inactive = stats.inactive_file ?? 0;
  if (v1Inactive !== undefined && v1Inactive < usage) mem_usage = usage - v1Inactive;
  else if (v1Inactive === undefined && v2Inactive < usage) mem_usage = usage - v2Inactive;
  let blk_read = 0;
  let blk_write = 0;
  for (const e of json.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op?.[0];
    if (op === "r" || op === "R") blk_read += e.value ?? 0;
    else if (op === "w" || op === "W") blk_write += e.value ?? 0;
  }
  let net_rx = 0;
  let net_tx = 0;
  for (const n of Object.values(json.networks ?? {})) {
    net_rx += n.rx_bytes ?? 0;
    net_tx += n.tx_bytes ?? 0;
  }
  return {
    at: Number.isFinite(readAt) ? readAt : receivedAt,
    cpu_ns: cpu.cpu_usage?.total_usage ?? 0,
    system_ns: cpu.system_cpu_usage ?? 0,
    online_cpus: cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 0,
    mem_usage,
    mem_limit: mem.limit ?? 0,
    pids: json.pids_stats?.current ?? 0,
    blk_read,
    blk_write,
    net_rx,
    net_tx,
  };
}

export interface DockerStatsSourceOptions {
  /** How long a stream stays open once nobody asks for its container; 30 s by default. */
  lingerMs?: number;
  /** After a stream ended or failed, how long before it may be opened again; 1 s by default. */
  retryMs?: number;
  /**
   * At most this many streams at once (200 by default); containers past it are left out. Bun's
   * fetch runs at most 256 requests at once (BUN_CONFIG_MAX_HTTP_REQUESTS) and queues the rest, so
   * more streams would hold up every other call to the engine, its event stream included.
   */
  maxStreams?: number;
}

interface Stream {
  id: string;
  abort: AbortController;
  lastAsked: number;
  /** The newest complete JSON line, parsed only when someone reads it. */
  line: string | undefined;
  lineAt: number;
  /** `line` already converted, and which line it was. */
  sample: RawSample | undefined;
  sampleOf: string | undefined;
}

// The engine keeps sending this for a container that has stopped; "preread" never matches it.
const STOPPED_MARK = '"read":"0001-01-01T00:00:00Z"';

/**
 * Docker's streaming stats: one `GET /containers/{id}/stats?stream=1` per container asked for
 * (newline-delimited JSON, one sample a second from the daemon), opened on first ask and closed
 * once nobody asked for the container for `lingerMs`, or when the container stops or goes. Only
 * the newest line of each stream is kept, and it is parsed only when read. Never stream=false.
 */
export class DockerStatsSource implements StatsSource {
  readonly name = "docker" as const;
  private readonly streams = new Map<string, Stream>();
  private readonly endedAt = new Map<string, number>();
  private readonly lingerMs: number;
  private readonly retryMs: number;
  private readonly maxStreams: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly client: Engine,
    options: DockerStatsSourceOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 30_000;
    this.retryMs = options.retryMs ?? 1_000;
    this.maxStreams = options.maxStreams ?? 200;
  }

  /** Streams open (or opening) right now: one per container asked for within the linger. */
  get openStreams(): number {
    return this.streams.size;
  }

  async read(targets: readonly StatsTarget[]): Promise<Map<string, RawSample>> {
    const out = new Map<string, RawSample>();
    if (this.closed) return out;
    const now = Date.now();
    for (const t of targets) {
      let s = this.streams.get(t.id);
      if (!s) {
        const ended = this.endedAt.get(t.id);
        if (ended !== undefined && now - ended < this.retryMs) continue;
        if (this.streams.size >= this.maxStreams) continue;
        s = this.open(t.id, now);
      }
      s.lastAsked = now;
      const sample = this.sampleOf(s);
      if (sample) out.set(t.id, sample);
    }
    this.sweep(now);
    return out;
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) s.abort.abort();
    this.streams.clear();
    this.endedAt.clear();
    this.stopTimer();
  }

  private sampleOf(s: Stream): RawSample | undefined {
    if (s.line === undefined) return undefined;
    if (s.sampleOf !== s.line) {
      try {
        s.sample = fromDockerStats(JSON.parse(s.line) as DockerStatsJson, s.lineAt);
      } catch {
        s.sample = undefined;
      }
      s.sampleOf = s.line;
    }
    return s.sample;
  }

  private open(id: string, now: number): Stream {
    const s: Stream = {
      id,
      abort: new AbortController(),
      lastAsked: now,
      line: undefined,
      lineAt: 0,
      sample: undefined,
      sampleOf: undefined,
    };
    this.streams.set(id, s);
    this.endedAt.delete(id);
    void this.pump(s);
    this.startTimer();
    return s;
  }

  /** Reads one stream until it ends, is closed, or says its container stopped. */
  private async pump(s: Stream): Promise<void> {
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const body = await this.client.stream(containerPath(s.id, "/stats?stream=1"), s.abort.signal);
      reader = body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done || s.abort.signal.aborted) break;
        pending += decoder.decode(value, { stream: true });
        const last = pending.lastIndexOf("\n");
        if (last < 0) continue;
        const prev = pending.lastIndexOf("\n", last - 1);
        const line = pending.slice(prev + 1, last).trim();
        pending = pending.slice(last + 1);
        if (!line) continue;
        if (line.includes(STOPPED_MARK)) break;
        s.line = line;
        s.lineAt = Date.now();
      }
    } catch {
      // Closed by us, the container went away, or the engine did: all end the stream alike.
    } finally {
      s.abort.abort();
      reader?.cancel().catch(() => {});
      if (this.streams.get(s.id) === s) {
        this.streams.delete(s.id);
        if (!this.closed) this.endedAt.set(s.id, Date.now());
        if (this.streams.size === 0) this.stopTimer();
      }
    }
  }

  /** Closes the streams nobody asked for within the linger. */
  private sweep(now: number): void {
    for (const s of this.streams.values()) {
      if (now - s.lastAsked > this.lingerMs) {
        this.streams.delete(s.id);
        s.abort.abort();
      }
    }
    for (const [id, at] of this.endedAt) if (now - at >= this.retryMs) this.endedAt.delete(id);
    if (this.streams.size === 0) this.stopTimer();
  }

  // Streams also close when read() is no longer called at all.
  private startTimer(): void {
    if (this.timer) return;
    const period = Math.max(10, Math.min(1_000, this.lingerMs / 4));
    this.timer = setInterval(() => this.sweep(Date.now()), period);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
