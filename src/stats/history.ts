import type { Database } from "bun:sqlite";
import {
  HISTORY_FIELDS,
  HISTORY_RANGES,
  type HistoryAnswer,
  type HistoryRange,
} from "../protocol/history.ts";
import { fromCode, toCode } from "../protocol/stats-frames.ts";
import { type WriteHealth, writeHealth } from "../store/write-health.ts";

const N = HISTORY_FIELDS.length;
const COLUMNS = "cpu, mem, rx, tx, br, bw, pids";

/**
 * How far back the rings reach at full rate. Older points of the 15 minutes come from the 10 s
 * averages in SQLite: 5 minutes in memory instead of 15 make a container's ring 4.2 KiB, not 12.6.
 */
const RING_SECONDS = 5 * 60;
/**
 * The rings hold each figure as a 16-bit code of the value rounded to these significant digits (0:
 * exact), times SCALE: what the graphs can show, at half the memory of 32-bit floats.
 */
const RING_DIGITS = [3, 3, 2, 2, 2, 2, 0];
/** cpu_percent kept in tenths */
const RING_SCALE = [10, 1, 1, 1, 1, 1, 1];
const NO_FIGURE = 0xffff;

function ringCode(value: number, k: number): number {
  if (!Number.isFinite(value)) return NO_FIGURE;
  return Math.min(NO_FIGURE - 1, toCode(value * RING_SCALE[k]!, RING_DIGITS[k]!));
}

function ringValue(code: number, k: number): number | null {
  return code === NO_FIGURE ? null : fromCode(code, RING_DIGITS[k]!) / RING_SCALE[k]!;
}
/**
 * The averages kept in SQLite, and for how long: a range up to what the 10 s averages keep is
 * answered from them, a longer one from the minutes. A range is read one bucket at a time
 * (fromRollup), so a day from minutes is 1,440 searches, not 8,640 (~7 ms here instead of ~39).
 */
const ROLLUPS = [
  { table: "stats_10s", seconds: 10, keep: HISTORY_RANGES["6h"] },
  { table: "stats_1m", seconds: 60, keep: HISTORY_RANGES["30d"] },
] as const;
/** At most this many points per answer: longer ranges are averaged into wider steps. */
const MAX_POINTS = 2000;

interface Bucket {
  start: number;
  sums: Map<string, { sum: Float64Array; n: number }>;
}

/**
 * A container's last 5 minutes in memory. Most containers rest (no CPU, the same memory, no
 * traffic): tick after tick the same codes, so until they change they are one row of codes and the
 * span it covers (~0.1 KiB). The ring of every tick (4.2 KiB) is made at the first change, and
 * dropped again once the same codes fill all of it.
 */
interface Held {
  /** the codes of the last tick seen */
  last: Uint16Array;
  /** since when (ms) every tick seen had `last`, with none missed */
  since: number;
  /** the last tick it was seen in (ms) */
  seen: number;
  /** every tick's codes, while they change */
  ring: Uint16Array | undefined;
}

/**
 * Figures over time: the last 5 minutes at full rate in memory (per container a row of repeated
 * codes or a ring of every tick, all sharing the tick times), and 10 s and 1 min averages in SQLite,
 * written once per bucket in one transaction.
 * The 15 minutes range is both: 10 s averages up to where the ring begins, every tick after.
 */
export class StatsHistory {
  private readonly slots: number;
  private times: Float64Array;
  private head = -1;
  private filled = 0;
  private held = new Map<string, Held>();
  private readonly codes = new Uint16Array(N);
  private buckets: Bucket[] = ROLLUPS.map(() => ({ start: 0, sums: new Map() }));
  private sids = new Map<string, number>();
  private readonly health: WriteHealth;

  constructor(
    private readonly db: Database,
    private readonly env: string,
    private readonly intervalMs: number,
  ) {
    this.health = writeHealth(db);
    this.slots = Math.ceil((RING_SECONDS * 1000) / intervalMs) + 1;
    this.times = new Float64Array(this.slots);
  }

  /** One tick: every series' values in HISTORY_FIELDS order. */
  record(at: number, rows: ReadonlyMap<string, ArrayLike<number>>): void {
    const before = this.filled > 0 ? this.times[this.head]! : Number.NaN;
    this.head = (this.head + 1) % this.slots;
    this.filled = Math.min(this.filled + 1, this.slots);
    this.times[this.head] = at;
    const oldest = this.times[this.filled < this.slots ? 0 : (this.head + 1) % this.slots]!;
    const codes = this.codes;
    // forEach, here and below: `for (const [k, v] of map)` makes an array per entry, per series per tick.
    rows.forEach((values, ref) => {
      for (let k = 0; k < N; k++) codes[k] = ringCode(values[k]!, k);
      const h = this.held.get(ref);
      if (!h) {
        this.held.set(ref, { last: codes.slice(), since: at, seen: at, ring: undefined });
        return;
      }
      let same = h.seen === before;
      for (let k = 0; same && k < N; k++) same = codes[k] === h.last[k];
      if (!same) {
        h.ring ??= this.ringOf(h);
        h.since = at;
        h.last.set(codes);
      }
      h.seen = at;
      if (!h.ring) return;
      h.ring.set(codes, this.head * N);
      // The same codes in every tick the ring holds: the row says all it does.
      if (h.since <= oldest) h.ring = undefined;
    });
    this.held.forEach((h, ref) => {
      if (h.seen === at) return;
      h.ring?.fill(NO_FIGURE, this.head * N, this.head * N + N);
      // Gone for longer than the ring holds: nothing left to show from memory.
      if (at - h.seen > RING_SECONDS * 1000) this.held.delete(ref);
    });
    ROLLUPS.forEach((r, i) => {
      this.accumulate(r, this.buckets[i]!, at, rows);
    });
  }

  /**
   * A container that is gone (removed, not merely stopped): its figures in memory go at once, not
   * minutes later. What was written to SQLite stays until the rollups' own pruning.
   */
  forget(ref: string): void {
    this.held.delete(ref);
    this.sids.delete(ref);
    for (const b of this.buckets) b.sums.delete(ref);
  }

  /** How many containers' figures are held in memory (for tests and the bench). */
  get heldSeries(): number {
    return this.held.size;
  }

  /** How many of them are held tick by tick, in a ring: the others have repeated for a while. */
  get heldRings(): number {
    let n = 0;
    this.held.forEach((h) => {
      if (h.ring) n++;
    });
    return n;
  }

  /**
   * `range` back from `now`. The 15 minutes: the ring's ticks, after the 10 s averages of the time
   * before the ring (step_ms is then the averages' step, the widest in the answer).
   */
  query(ref: string, range: HistoryRange, now = Date.now()): HistoryAnswer | undefined {
    const seconds = HISTORY_RANGES[range];
    const since = Math.floor(now / 1000) - seconds;
    if (range === "15m") {
      const held = this.held.get(ref);
      const ringFrom = held ? this.ringStart(now - seconds * 1000) : Number.POSITIVE_INFINITY;
      // Only whole buckets that end before the ring's first tick: no instant is shown twice.
      const older = this.fromRollup(ref, range, ROLLUPS[0], ROLLUPS[0].seconds, since, ringFrom / 1000, now);
      if (!held) return older;
      // The ticks' step is the collector's interval, not the gap between the last two (they jitter).
      const answer = older ?? emptyAnswer(ref, range, this.intervalMs);
      if (answer.t.length === 0) answer.step_ms = this.intervalMs;
      this.fromRing(held, ringFrom, answer);
      return answer;
    }
    const rollup = seconds <= ROLLUPS[0].keep ? ROLLUPS[0] : ROLLUPS[1];
    const step = Math.max(rollup.seconds, Math.ceil(seconds / MAX_POINTS / rollup.seconds) * rollup.seconds);
    return this.fromRollup(ref, range, rollup, step, since, Number.MAX_SAFE_INTEGER, now);
  }

  /**
   * Averages over `step` s from a rollup's table: buckets from `since` that end by `until` (unix s).
   * The tables are in time order (a bucket's rows are written side by side), so one series' rows
   * are looked up bucket by bucket: ts, every bucket start of the range, drives the join (CROSS
   * JOIN keeps it outside), each row one primary-key search.
   */
  private fromRollup(
    ref: string,
    range: HistoryRange,
    rollup: (typeof ROLLUPS)[number],
    step: number,
    since: number,
    until: number,
    now: number,
  ): HistoryAnswer | undefined {
    const sid = this.sid(ref, false);
    if (sid === undefined) return undefined;
    const first = Math.ceil(since / rollup.seconds) * rollup.seconds;
    const rows = this.db
      .query(
        `WITH RECURSIVE ts(t) AS (SELECT ?3 UNION ALL SELECT t + ?5 FROM ts WHERE t + ?5 <= ?6)
         SELECT (s.t / ?1) * ?1 AS b, avg(cpu) AS c0, avg(mem) AS c1, avg(rx) AS c2, avg(tx) AS c3, avg(br) AS c4, avg(bw) AS c5, avg(pids) AS c6
         FROM ts CROSS JOIN ${rollup.table} AS s WHERE s.t = ts.t AND s.sid = ?2 AND s.t + ?1 <= ?4
         GROUP BY b ORDER BY b`,
      )
      .all(
        step,
        sid,
        first,
        Number.isFinite(until) ? until : Number.MAX_SAFE_INTEGER,
        rollup.seconds,
        Math.floor(now / 1000),
      ) as Record<string, number>[];
    const answer = emptyAnswer(ref, range, step * 1000);
    for (const row of rows) {
      answer.t.push(row.b!);
      HISTORY_FIELDS.forEach((f, k) => {
        answer.series[f].push(row[`c${k}`] ?? null);
      });
    }
    return answer;
  }

  /** When the ring's oldest tick at or after `since` was taken, ms. */
  private ringStart(since: number): number {
    for (let i = this.filled - 1; i >= 0; i--) {
      const at = this.times[(this.head - i + this.slots) % this.slots]!;
      if (at >= since) return at;
    }
    return Number.POSITIVE_INFINITY;
  }

  private fromRing(h: Held, since: number, answer: HistoryAnswer): void {
    for (let i = this.filled - 1; i >= 0; i--) {
      const slot = (this.head - i + this.slots) % this.slots;
      const at = this.times[slot]!;
      if (at < since) continue;
      answer.t.push(Math.round(at) / 1000);
      const repeated = at >= h.since && at <= h.seen;
      HISTORY_FIELDS.forEach((f, k) => {
        const code = h.ring ? h.ring[slot * N + k]! : repeated ? h.last[k]! : NO_FIGURE;
        answer.series[f].push(ringValue(code, k));
      });
    }
  }

  /** The ring of a container held as a row so far: the row's codes in each tick it spans. */
  private ringOf(h: Held): Uint16Array {
    const ring = new Uint16Array(this.slots * N).fill(NO_FIGURE);
    for (let i = 0; i < this.filled; i++) {
      const at = this.times[i]!;
      if (at >= h.since && at <= h.seen) ring.set(h.last, i * N);
    }
    return ring;
  }

  private accumulate(
    rollup: (typeof ROLLUPS)[number],
    bucket: Bucket,
    at: number,
    rows: ReadonlyMap<string, ArrayLike<number>>,
  ) {
    const start = Math.floor(at / 1000 / rollup.seconds) * rollup.seconds;
    if (start !== bucket.start) {
      if (bucket.sums.size) this.flush(rollup, bucket);
      bucket.start = start;
    }
    rows.forEach((values, ref) => {
      let acc = bucket.sums.get(ref);
      if (!acc) {
        acc = { sum: new Float64Array(N), n: 0 };
        bucket.sums.set(ref, acc);
      }
      for (let k = 0; k < N; k++) acc.sum[k]! += values[k]!;
      acc.n++;
    });
  }

  private flush(rollup: (typeof ROLLUPS)[number], bucket: Bucket): void {
    const insert = this.db.query(
      `INSERT OR REPLACE INTO ${rollup.table} (sid, t, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Every engine's rows older than the rollup keeps: the oldest bucket or so, at the table's start.
    const expire = this.db.query(`DELETE FROM ${rollup.table} WHERE t < ?`);
    // On a full disk the bucket is lost, not retried: the next ones are written once there is room.
    const written = this.health.tolerate("stats history", () =>
      this.db.transaction(() => {
        for (const [ref, { sum: s, n }] of bucket.sums) {
          if (n === 0) continue;
          insert.run(
            this.sid(ref, true)!,
            bucket.start,
            s[0]! / n,
            s[1]! / n,
            s[2]! / n,
            s[3]! / n,
            s[4]! / n,
            s[5]! / n,
            s[6]! / n,
          );
        }
        expire.run(bucket.start - rollup.keep);
      })(),
    );
    // Series made in the transaction that was rolled back do not exist.
    if (!written) this.sids.clear();
    // The sums are kept for the next bucket, not made again each bucket; a series the bucket did
    // not see has left the ticks.
    for (const [ref, acc] of bucket.sums) {
      if (acc.n === 0) bucket.sums.delete(ref);
      acc.sum.fill(0);
      acc.n = 0;
    }
  }

  private sid(ref: string, create: boolean): number | undefined {
    const known = this.sids.get(ref);
    if (known !== undefined) return known;
    const row = this.db
      .query("SELECT sid FROM stats_series WHERE env = ? AND ref = ?")
      .get(this.env, ref) as {
      sid: number;
    } | null;
    let sid = row?.sid;
    if (sid === undefined && create) {
      sid = (
        this.db
          .query("INSERT INTO stats_series (env, ref) VALUES (?, ?) RETURNING sid")
          .get(this.env, ref) as {
          sid: number;
        }
      ).sid;
    }
    if (sid !== undefined) this.sids.set(ref, sid);
    return sid;
  }
}

export function emptyAnswer(id: string, range: HistoryRange, stepMs: number): HistoryAnswer {
  return {
    id,
    range,
    step_ms: stepMs,
    t: [],
    series: Object.fromEntries(HISTORY_FIELDS.map((f) => [f, []])) as unknown as HistoryAnswer["series"],
  };
}
