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
export function quantise(f: TickFigures, out: number[] = new Array(STAT_FIELDS.length)): number[] {
  out[0] = significant(Math.max(0, f.cpu_percent) * 10, 2);
  out[1] = significant(f.mem_usage / 1024, 3);
  out[2] = Math.round(f.mem_limit / 1024);
  out[3] = significant(f.net_rx_rate, 2);
  out[4] = significant(f.net_tx_rate, 2);
  out[5] = significant(f.blk_read_rate, 2);
  out[6] = significant(f.blk_write_rate, 2);
  out[7] = f.pids;
  return out;
}

/** The wire codes of quantised values (STAT_DIGITS), into `out`. */
function codesInto(f: TickFigures, out: number[]): number[] {
  quantise(f, out);
  for (let i = 0; i < out.length; i++) out[i] = toCode(out[i]!, STAT_DIGITS[i] ?? 0);
  return out;
}

interface Row {
  idx: number;
  id: string;
  name: string;
  /** codes */
  v: number[];
  /** the fields that changed in this tick, and by how much (codes) */
  mask: number;
  d: number[];
  /** the tick that last carried it */
  tick: number;
}

const byIndex = (a: Row, b: Row) => a.idx - b.idx;

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
  /**
   * The tick under way, and how many containers its parts carried so far (0 between ticks). Rows
   * are marked with the tick instead of being kept in a set: a tick makes nothing per container
   * but what its frame sends.
   */
  private tickNo = 1;
  private seen = 0;
  private readonly scratch: number[] = new Array(STAT_FIELDS.length).fill(0);
  private readonly changed: Row[] = [];
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
    const changed = this.changed;
    changed.length = 0;
    const v = this.scratch;
    for (const f of figures) {
      const row = this.rows.get(f.id);
      if (row?.tick === this.tickNo) continue;
      this.seen++;
      codesInto(f, v);
      if (!row) {
        const created = {
          idx: this.take(),
          id: f.id,
          name: f.name,
          v: [...v],
          mask: 0,
          d: [...v],
          tick: this.tickNo,
        };
        this.rows.set(f.id, created);
        fresh.push(created);
        continue;
      }
      row.tick = this.tickNo;
      let mask = 0;
      for (let bit = 0; bit < v.length; bit++) {
        if (v[bit] === row.v[bit]) continue;
        mask |= 1 << bit;
        row.d[bit] = v[bit]! - row.v[bit]!;
        row.v[bit] = v[bit]!;
      }
      row.mask = mask;
      if (mask) changed.push(row);
    }
    const gone: number[] = [];
    if (last) {
      for (const row of this.rows.values()) {
        if (row.tick === this.tickNo) continue;
        this.rows.delete(row.id);
        gone.push(row.idx);
      }
      this.tickNo++;
      this.seen = 0;
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
      changed.sort(byIndex);
      const flat: number[] = [];
      let next = 0;
      for (const row of changed) {
        flat.push(row.idx - next, row.mask);
        for (let bit = 0; bit < row.d.length; bit++) if (row.mask & (1 << bit)) flat.push(row.d[bit]!);
        next = row.idx + 1;
      }
      changed.length = 0;
      delta.c = flat;
    }
    return delta;
  }

  keyframe(): KeyFrame {
    return {
      s: this.seq,
      t: this.sampledAt,
      // Between two parts of a tick: the rest of the tick follows.
      ...(this.seen ? { m: 1 as const } : {}),
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
