/**
 * The `stats:<env>` topic's frames (docs/protocol.md, "Stats frames"): a keyframe holds every running
 * container, a delta only what changed since the frame before it. The server's encoder
 * (src/stats/frame-encoder.ts) and the decoder for the UI, the tests and any native client; no DOM here.
 */

/** Field order in rows and masks. Units: cpu 0.1 %, mem and limit KiB, rx/tx/br/bw bytes/s, pids. */
export const STAT_FIELDS = ["cpu", "mem", "limit", "rx", "tx", "br", "bw", "pids"] as const;
export type StatField = (typeof STAT_FIELDS)[number];
export type StatValues = number[];

/**
 * Significant digits each field keeps on the wire (0: exact). A value travels as its code: its
 * place on that grid of rounded numbers, so neighbouring values have neighbouring codes and a delta
 * carries code differences, one byte for most changes.
 */
export const STAT_DIGITS = [2, 3, 0, 2, 2, 2, 2, 0] as const;

/** A rounded value's place on the grid of `digits` significant digits (below 10^digits: itself). */
export function toCode(value: number, digits: number): number {
  const v = Math.max(0, Math.round(value));
  const lim = 10 ** digits;
  if (digits === 0 || v < lim) return v;
  let e = Math.floor(Math.log10(v)) - digits + 1;
  let m = Math.round(v / 10 ** e);
  if (m >= lim) {
    m /= 10;
    e++;
  }
  return lim + (e - 1) * (lim - lim / 10) + (m - lim / 10);
}

/** The value a code stands for. */
export function fromCode(code: number, digits: number): number {
  const lim = 10 ** digits;
  if (digits === 0 || code < lim) return code;
  const k = code - lim;
  const per = lim - lim / 10;
  return (lim / 10 + (k % per)) * 10 ** (Math.floor(k / per) + 1);
}

export function valuesOf(codes: number[]): StatValues {
  return codes.map((c, i) => fromCode(c, STAT_DIGITS[i] ?? 0));
}

export interface KeyFrame {
  /** Sequence number of this tick. */
  s: number;
  /** When the tick's figures were read (its first file), ms since the epoch. */
  t: number;
  /** Interval between ticks, ms. */
  i: number;
  /** Where the numbers come from: "cgroup" or "docker". */
  src: string;
  /** [index, id, name, ...codes in STAT_FIELDS order] for every container. */
  c: [number, string, string, ...number[]][];
  /** 1 when sent between two parts of a tick: the rest of the tick follows in deltas. */
  m?: 1;
}

export interface DeltaFrame {
  s: number;
  t: number;
  /**
   * Changed containers, flat, in index order: per container its index less (the previous one's + 1),
   * its mask, then for each set bit the field's new code less its old one.
   */
  c?: number[];
  /** Containers first seen in this tick: as in a keyframe. */
  n?: [number, string, string, ...number[]][];
  /** Indexes of containers gone since the last tick (only in a tick's last part). */
  x?: number[];
  /**
   * 1 when more parts of this tick follow: a tick read in parts goes out as several deltas, each
   * with its own `s` and `t`; the one without `m` completes it.
   */
  m?: 1;
}

export interface ContainerStats {
  id: string;
  name: string;
  /** Values in STAT_FIELDS order, in wire units. */
  v: StatValues;
  /** The same as codes (what deltas change). */
  k: number[];
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
  /** When the newest frame's figures were read, ms since the epoch. */
  sampledAt = 0;
  /**
   * True while a tick is under way (the last frame applied had `m`): some rows already hold this
   * tick's figures, the others still the tick before's. Whoever keeps a point per tick waits.
   */
  partial = false;
  interval = 1000;
  source = "";

  apply(kind: string, data: unknown): boolean {
    if (kind === "key") {
      const f = data as KeyFrame;
      this.rows.clear();
      for (const [idx, id, name, ...k] of f.c) this.rows.set(idx, { id, name, k, v: valuesOf(k) });
      this.seq = f.s;
      this.sampledAt = f.t;
      this.partial = f.m === 1;
      this.interval = f.i;
      this.source = f.src;
      return true;
    }
    if (kind !== "delta") return false;
    const f = data as DeltaFrame;
    if (f.s !== this.seq + 1) return false;
    for (const idx of f.x ?? []) this.rows.delete(idx);
    for (const [idx, id, name, ...k] of f.n ?? []) this.rows.set(idx, { id, name, k, v: valuesOf(k) });
    const c = f.c ?? [];
    let next = 0;
    for (let i = 0; i < c.length; ) {
      const idx = next + (c[i++] ?? 0);
      next = idx + 1;
      const mask = c[i++] ?? 0;
      const row = this.rows.get(idx);
      for (let bit = 0; bit < STAT_FIELDS.length; bit++) {
        if (!(mask & (1 << bit))) continue;
        const diff = c[i++] ?? 0;
        if (!row) continue;
        row.k[bit] = (row.k[bit] ?? 0) + diff;
        row.v[bit] = fromCode(row.k[bit]!, STAT_DIGITS[bit] ?? 0);
      }
    }
    this.seq = f.s;
    this.sampledAt = f.t;
    this.partial = f.m === 1;
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
