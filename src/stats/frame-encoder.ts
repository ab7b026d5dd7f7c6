import type { DeltaFrame, KeyFrame, StatsView } from "../protocol/stats-frames.ts";
import { STAT_DIGITS, STAT_FIELDS, toCode } from "../protocol/stats-frames.ts";

/** One container's figures for one tick, in display units, before quantising: what clients decode. */
export type TickFigures = StatsView;

/** Rounds to `digits` significant digits: small changes in a big number stop being changes. */
export function significant(value: number, digits: number): number {
  const v = Math.round(value);
  if (v < 10 ** digits) return v;
  const scale = 10 ** (Math.floor(Math.log10(v)) - digits + 1);
  return Math.round(v / scale) * scale;
}

/**
 * The wire values, in STAT_FIELDS order. Precision is what a person reads off a dashboard: CPU to
 * 0.1 % below 10 % and two digits above, memory to three digits (KiB), rates to two digits (B/s).
 * Quantised values repeat from one second to the next, and a value that did not change is not sent.
 */
export function quantise(f: TickFigures): number[] {
  return [
    significant(Math.max(0, f.cpu_percent) * 10, 2),
    significant(f.mem_usage / 1024, 3),
    Math.round(f.mem_limit / 1024),
    significant(f.net_rx_rate, 2),
    significant(f.net_tx_rate, 2),
    significant(f.blk_read_rate, 2),
    significant(f.blk_write_rate, 2),
    f.pids,
  ];
}

/** The wire codes of quantised values (STAT_DIGITS). */
export function codes(f: TickFigures): number[] {
  return quantise(f).map((v, i) => toCode(v, STAT_DIGITS[i] ?? 0));
}

interface Row {
  idx: number;
  id: string;
  name: string;
  /** codes */
  v: number[];
}

/**
 * Turns each tick's figures into a delta against the frame before (shared by every subscriber that
 * got that frame) and, on demand, a keyframe. Containers are named by small integers after their
 * first mention; the integers of containers that are gone are used again. A tick may go out in
 * parts (part()): each is a delta of its own, and the last also says which containers are gone.
 */
export class StatsFrameEncoder {
  private rows = new Map<string, Row>();
  private free: number[] = [];
  private next = 0;
  /** Containers of the tick under way that earlier parts carried; empty between ticks. */
  private seen = new Set<string>();
  seq = 0;
  /** When the newest frame's figures were read, ms since the epoch. */
  sampledAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly source: () => string,
  ) {}

  /** A whole tick in one frame. */
  tick(figures: TickFigures[], sampledAt = Date.now()): DeltaFrame {
    return this.part(figures, sampledAt, true) as DeltaFrame;
  }

  /**
   * One part of a tick: a delta for these containers. Before the last part, one with nothing to
   * say is no frame at all (undefined); the last is always a frame, marks the tick as complete,
   * and takes away the containers that no part of the tick carried.
   */
  part(figures: TickFigures[], sampledAt: number, last: boolean): DeltaFrame | undefined {
    const fresh: Row[] = [];
    const changed: number[][] = [];
    for (const f of figures) {
      if (this.seen.has(f.id)) continue;
      this.seen.add(f.id);
      const v = codes(f);
      const row = this.rows.get(f.id);
      if (!row) {
        const created = { idx: this.take(), id: f.id, name: f.name, v };
        this.rows.set(f.id, created);
        fresh.push(created);
        continue;
      }
      let mask = 0;
      const diffs: number[] = [];
      for (let bit = 0; bit < STAT_FIELDS.length; bit++) {
        if (v[bit] !== row.v[bit]) {
          mask |= 1 << bit;
          diffs.push(v[bit]! - row.v[bit]!);
        }
      }
      row.v = v;
      if (mask) changed.push([row.idx, mask, ...diffs]);
    }
    const gone: number[] = [];
    if (last) {
      for (const [id, row] of this.rows) {
        if (this.seen.has(id)) continue;
        this.rows.delete(id);
        gone.push(row.idx);
      }
      this.seen.clear();
    } else if (!fresh.length && !changed.length) return undefined;
    this.seq++;
    this.sampledAt = sampledAt;
    // `m` right after `t`: a client can tell a tick's last frame without reading the rest.
    const delta: DeltaFrame = { s: this.seq, t: sampledAt };
    if (!last) delta.m = 1;
    // Freed after the new rows are placed, so an index never names two containers in one frame.
    this.free.push(...gone);
    if (gone.length) delta.x = gone;
    if (fresh.length) delta.n = fresh.map((r) => [r.idx, r.id, r.name, ...r.v]);
    if (changed.length) {
      // Flat and in index order, each index as the step from the one before: small numbers, one byte.
      changed.sort((a, b) => a[0]! - b[0]!);
      const flat: number[] = [];
      let next = 0;
      for (const [idx, ...rest] of changed) {
        flat.push(idx! - next, ...rest);
        next = idx! + 1;
      }
      delta.c = flat;
    }
    return delta;
  }

  keyframe(): KeyFrame {
    return {
      s: this.seq,
      t: this.sampledAt,
      // Between two parts of a tick: the rest of the tick follows.
      ...(this.seen.size ? { m: 1 as const } : {}),
      i: this.intervalMs,
      src: this.source(),
      c: [...this.rows.values()].map((r) => [r.idx, r.id, r.name, ...r.v]),
    };
  }

  private take(): number {
    this.free.sort((a, b) => b - a);
    return this.free.pop() ?? this.next++;
  }
}
