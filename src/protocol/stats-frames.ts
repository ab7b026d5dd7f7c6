/**
 * The `stats:<env>` topic's frames (docs/protocol.md, "Stats frames"): a keyframe holds every running
 * container, a delta only what changed since the frame before it. The server's encoder
 * (src/stats/frame-encoder.ts) and the decoder for the UI, the tests and any native client; no DOM here.
 */

/** Field order in rows and masks. Units: cpu 0.1 %, mem and limit KiB, rx/tx/br/bw bytes/s, pids. */
export const STAT_FIELDS = ["cpu", "mem", "limit", "rx", "tx", "br", "bw", "pids"] as const;
export type StatField = (typeof STAT_FIELDS)[number];
export type StatValues = number[];

export interface KeyFrame {
  /** Sequence number of this tick. */
  s: number;
  /** Interval between ticks, ms. */
  i: number;
  /** Where the numbers come from: "cgroup" or "docker". */
  src: string;
  /** [index, id, name, ...values in STAT_FIELDS order] for every container. */
  c: [number, string, string, ...number[]][];
}

export interface DeltaFrame {
  s: number;
  /** [index, mask, ...values of the fields whose bit is set, in STAT_FIELDS order]. */
  c?: [number, number, ...number[]][];
  /** Containers first seen in this tick: as in a keyframe. */
  n?: [number, string, string, ...number[]][];
  /** Indexes of containers gone since the last tick. */
  x?: number[];
}

export interface ContainerStats {
  id: string;
  name: string;
  /** Values in STAT_FIELDS order, in wire units. */
  v: StatValues;
}

/** A container's figures in display units. */
export interface StatsView {
  id: string;
  name: string;
  cpu_percent: number;
  mem_usage: number;
  mem_limit: number;
  net_rx_rate: number;
  net_tx_rate: number;
  blk_read_rate: number;
  blk_write_rate: number;
  pids: number;
}

export function toView(c: ContainerStats): StatsView {
  const [cpu = 0, mem = 0, limit = 0, rx = 0, tx = 0, br = 0, bw = 0, pids = 0] = c.v;
  return {
    id: c.id,
    name: c.name,
    cpu_percent: cpu / 10,
    mem_usage: mem * 1024,
    mem_limit: limit * 1024,
    net_rx_rate: rx,
    net_tx_rate: tx,
    blk_read_rate: br,
    blk_write_rate: bw,
    pids,
  };
}

/**
 * Applies frames in order and holds the current figures. A delta that does not follow the last frame
 * applied is refused (returns false): the server sends a keyframe next to any client that missed one.
 */
export class StatsTable {
  readonly rows = new Map<number, ContainerStats>();
  seq = -1;
  interval = 1000;
  source = "";

  apply(kind: string, data: unknown): boolean {
    if (kind === "key") {
      const f = data as KeyFrame;
      this.rows.clear();
      for (const [idx, id, name, ...v] of f.c) this.rows.set(idx, { id, name, v });
      this.seq = f.s;
      this.interval = f.i;
      this.source = f.src;
      return true;
    }
    if (kind !== "delta") return false;
    const f = data as DeltaFrame;
    if (f.s !== this.seq + 1) return false;
    for (const idx of f.x ?? []) this.rows.delete(idx);
    for (const [idx, id, name, ...v] of f.n ?? []) this.rows.set(idx, { id, name, v });
    for (const [idx, mask, ...values] of f.c ?? []) {
      const row = this.rows.get(idx);
      if (!row) continue;
      let k = 0;
      for (let bit = 0; bit < STAT_FIELDS.length; bit++) if (mask & (1 << bit)) row.v[bit] = values[k++] ?? 0;
    }
    this.seq = f.s;
    return true;
  }

  views(): StatsView[] {
    return [...this.rows.values()].map(toView);
  }
}

/** The machine a local engine runs on, once per tick (`host:<env>`). */
export interface HostFigures {
  /** Share of all CPUs' time, 0–100. */
  cpu_percent: number;
  ncpu: number;
  mem_used: number;
  mem_total: number;
  load: [number, number, number];
  net_rx_rate: number;
  net_tx_rate: number;
  disks: { path: string; used: number; total: number }[];
}
