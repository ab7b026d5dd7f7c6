import type { DeltaFrame, KeyFrame, StatsView } from "../protocol/stats-frames.ts";
import { STAT_FIELDS } from "../protocol/stats-frames.ts";

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

interface Row {
  idx: number;
  id: string;
  name: string;
  v: number[];
}

/**
 * Turns each tick's figures into a delta against the tick before (shared by every subscriber that
 * got that tick) and, on demand, a keyframe. Containers are named by small integers after their
 * first mention; the integers of containers that are gone are used again.
 */
export class StatsFrameEncoder {
  private rows = new Map<string, Row>();
  private free: number[] = [];
  private next = 0;
  seq = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly source: () => string,
  ) {}

  tick(figures: TickFigures[]): DeltaFrame {
    this.seq++;
    const seen = new Set<string>();
    const present = new Set(figures.map((f) => f.id));
    const delta: DeltaFrame = { s: this.seq };
    const gone: number[] = [];
    for (const [id, row] of this.rows) {
      if (present.has(id)) continue;
      this.rows.delete(id);
      gone.push(row.idx);
    }
    // Freed after the new rows are placed, so an index never names two containers in one frame.
    const fresh: Row[] = [];
    const changed: [number, number, ...number[]][] = [];
    for (const f of figures) {
      if (seen.has(f.id)) continue;
      seen.add(f.id);
      const v = quantise(f);
      const row = this.rows.get(f.id);
      if (!row) {
        const created = { idx: this.take(), id: f.id, name: f.name, v };
        this.rows.set(f.id, created);
        fresh.push(created);
        continue;
      }
      let mask = 0;
      const values: number[] = [];
      for (let bit = 0; bit < STAT_FIELDS.length; bit++) {
        if (v[bit] !== row.v[bit]) {
          mask |= 1 << bit;
          values.push(v[bit]!);
        }
      }
      row.v = v;
      if (mask) changed.push([row.idx, mask, ...values]);
    }
    this.free.push(...gone);
    if (gone.length) delta.x = gone;
    if (fresh.length) delta.n = fresh.map((r) => [r.idx, r.id, r.name, ...r.v]);
    if (changed.length) delta.c = changed;
    return delta;
  }

  keyframe(): KeyFrame {
    return {
      s: this.seq,
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
