import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { StatsHistory } from "../../src/stats/history.ts";
import { openDatabase } from "../../src/store/database.ts";
import { useSeriesOrderedTables } from "../helpers/stats-tables.ts";

const dir = mkdtempSync(join(tmpdir(), "gptest-history-"));
const db = openDatabase(dir);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
const row = (cpu: number) => [cpu, 1000, 10, 20, 0, 0, 3];

describe("stats history", () => {
  it("answers 15 minutes: 10 s averages, then the last 5 minutes at full rate with gaps where a container was not running", () => {
    const h = new StatsHistory(db, "ring", 1000);
    for (let i = 0; i < 1200; i++) {
      // CPU climbs by 1 % a tick and wraps at 1000 %: every value is kept to 3 significant digits.
      const rows = new Map([["a", row(i % 1000)]]);
      if (i % 100 !== 50) rows.set("b", row(1));
      h.record(T0 + i * 1000, rows);
    }
    const now = T0 + 1199 * 1000;
    const a = h.query("a", "15m", now)!;
    // The ring: ticks 899…1199. Before it, the 10 s buckets that end by its first tick: 300…880.
    const fine = a.t.filter((t) => t >= T0 / 1000 + 899);
    expect(fine).toHaveLength(301);
    expect(a.t.length).toBe(59 + 301);
    expect(a.step_ms).toBe(10_000);
    expect(a.t[0]).toBe(T0 / 1000 + 300);
    expect(a.t[58]).toBe(T0 / 1000 + 880);
    expect(a.series.cpu_percent[0]).toBe(304.5);
    expect(a.series.pids[0]).toBe(3);
    expect(a.t[59]).toBe(T0 / 1000 + 899);
    expect(a.series.cpu_percent[59]).toBe(899);
    expect(a.t.at(-1)).toBe(now / 1000);
    expect(a.series.cpu_percent.at(-1)).toBe(199);
    // Every instant once, in order.
    expect(a.t.every((t, i) => i === 0 || t > a.t[i - 1]!)).toBe(true);
    const b = h.query("b", "15m", now)!;
    // In the ring, the ticks it missed (950, 1050, 1150) are null; a bucket averages the ticks it had.
    expect(b.series.cpu_percent.slice(59).filter((v) => v === null)).toHaveLength(3);
    expect(b.series.cpu_percent.slice(0, 59).every((v) => v === 1)).toBe(true);
    expect(h.query("nobody", "15m", now)).toBeUndefined();
  });

  it("answers 15 minutes at full rate while the ring holds all there is", () => {
    const h = new StatsHistory(db, "young", 1000);
    for (let i = 0; i < 100; i++) h.record(T0 + i * 1000, new Map([["y", row(i)]]));
    const y = h.query("y", "15m", T0 + 99_000)!;
    // The ring begins at the first tick: no bucket ends before it.
    expect(y.step_ms).toBe(1000);
    expect(y.t).toHaveLength(100);
    expect(y.series.cpu_percent.at(-1)).toBe(99);
  });

  it("keeps a container stopped for longer than the ring in SQLite only: its 15 minutes still show", () => {
    const h = new StatsHistory(db, "stopped-long", 1000);
    for (let i = 0; i < 120; i++)
      h.record(
        T0 + i * 1000,
        new Map([
          ["s", row(7)],
          ["k", row(1)],
        ]),
      );
    for (let i = 120; i < 120 + 5 * 60 + 2; i++) h.record(T0 + i * 1000, new Map([["k", row(1)]]));
    expect(h.heldSeries).toBe(1);
    const s = h.query("s", "15m", T0 + 421_000)!;
    expect(s.step_ms).toBe(10_000);
    expect(s.t).toHaveLength(12);
    expect(s.series.cpu_percent.every((v) => v === 7)).toBe(true);
  });

  it("writes 10 s and 1 min averages to SQLite and answers longer ranges from them", () => {
    const h = new StatsHistory(db, "rollup", 1000);
    // 10 minutes and one tick (to close the last buckets), cpu climbing 0, 1, 2, …
    for (let i = 0; i <= 600; i++) h.record(T0 + i * 1000, new Map([["c", row(i)]]));
    const now = T0 + 600 * 1000;
    const hour = h.query("c", "1h", now)!;
    expect(hour.step_ms).toBe(10_000);
    expect(hour.t).toHaveLength(60);
    expect(hour.t[0]).toBe(T0 / 1000);
    expect(hour.series.cpu_percent[0]).toBe(4.5);
    expect(hour.series.pids[0]).toBe(3);
    const month = h.query("c", "30d", now)!;
    // Wider steps than a minute (22 min): averaged further so that no answer passes 2,000 points.
    expect(month.step_ms).toBe(Math.ceil((30 * 86400) / 2000 / 60) * 60_000);
    expect(month.t).toHaveLength(1);
    expect(month.series.cpu_percent[0]).toBe(299.5);
    expect(h.query("unknown", "24h", now)).toBeUndefined();
  });

  it("releases a removed container's figures at once, and a stopped one's after the ring has passed", () => {
    const h = new StatsHistory(db, "release", 1000);
    for (let i = 0; i < 10; i++) {
      h.record(
        T0 + i * 1000,
        new Map([
          ["kept", row(1)],
          ["removed", row(2)],
          ["stopped", row(3)],
        ]),
      );
    }
    expect(h.heldSeries).toBe(3);
    h.forget("removed");
    expect(h.heldSeries).toBe(2);
    expect(h.query("removed", "15m", T0 + 10_000)).toBeUndefined();
    // "stopped" is no longer in the ticks: kept (with gaps) while the ring still shows it, then gone.
    for (let i = 10; i < 20; i++) h.record(T0 + i * 1000, new Map([["kept", row(1)]]));
    expect(h.query("stopped", "15m", T0 + 20_000)!.series.cpu_percent.filter((v) => v === 3)).toHaveLength(
      10,
    );
    for (let i = 20; i < 20 + 5 * 60 + 2; i++) h.record(T0 + i * 1000, new Map([["kept", row(1)]]));
    expect(h.heldSeries).toBe(1);
  });
  it("holds a resting container as one row until its figures change, and a ring until they repeat through it", () => {
    const h = new StatsHistory(db, "resting", 1000);
    const rows = (x: number) => {
      const m = new Map<string, number[]>();
      for (let c = 0; c < 50; c++) m.set(`r${c}`, row(0));
      m.set("x", row(x));
      return m;
    };
    for (let i = 0; i < 400; i++) h.record(T0 + i * 1000, rows(0));
    expect([h.heldSeries, h.heldRings]).toEqual([51, 0]);
    h.record(T0 + 400_000, rows(5));
    expect(h.heldRings).toBe(1);
    const x = h.query("x", "15m", T0 + 400_000)!;
    // The ring's 301 ticks: 300 of the row that came before it, then the change.
    const fine = x.series.cpu_percent.slice(-301);
    expect(fine.slice(0, 300).every((v) => v === 0)).toBe(true);
    expect(fine.at(-1)).toBe(5);
    for (let i = 401; i < 700; i++) h.record(T0 + i * 1000, rows(5));
    expect(h.heldRings).toBe(1);
    h.record(T0 + 700_000, rows(5));
    // 5 in every tick the ring holds (400 to 700): the row again.
    expect(h.heldRings).toBe(0);
    expect(
      h
        .query("x", "15m", T0 + 700_000)!
        .series.cpu_percent.slice(-301)
        .every((v) => v === 5),
    ).toBe(true);
    expect(
      h
        .query("r7", "15m", T0 + 700_000)!
        .series.mem_usage.slice(-301)
        .every((v) => v === 1000),
    ).toBe(true);
  });

  it("answers from rows and rings what a ring of every tick would hold, whatever the ticks were", () => {
    // 30 s ticks: an 11-tick ring, so runs of repeats fill and leave it often.
    const interval = 30_000;
    const slots = Math.ceil(300_000 / interval) + 1;
    const refs = ["a", "b", "c"];
    // Per tick and container: absent (null) or a CPU figure from a few, so that runs repeat.
    const tick = fc.tuple(...refs.map(() => fc.option(fc.constantFrom(0, 1, 2), { nil: null })));
    let run = 0;
    fc.assert(
      fc.property(fc.array(tick, { minLength: 1, maxLength: 60 }), (ticks) => {
        const h = new StatsHistory(db, `prop-${run++}`, interval);
        const seen = new Map<string, number>();
        ticks.forEach((t, i) => {
          const at = T0 + i * interval;
          const rows = new Map<string, number[]>();
          refs.forEach((ref, j) => {
            if (t[j] !== null) rows.set(ref, row(t[j]!));
          });
          h.record(at, rows);
          for (const ref of rows.keys()) seen.set(ref, at);
          const now = at;
          const first = Math.max(0, i + 1 - slots);
          const held = refs.filter((ref) => seen.has(ref) && now - seen.get(ref)! <= 300_000);
          expect(h.heldSeries).toBe(held.length);
          for (const ref of held) {
            const a = h.query(ref, "15m", now)!;
            const from = a.t.findIndex((s) => s * 1000 >= T0 + first * interval);
            const got = a.series.cpu_percent.slice(from);
            const want = ticks.slice(first, i + 1).map((tk) => tk[refs.indexOf(ref)]);
            expect(a.t.slice(from)).toEqual(
              ticks.slice(first, i + 1).map((_, k) => (T0 + (first + k) * interval) / 1000),
            );
            expect(got).toEqual(want);
          }
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe("stats history kept in time order", () => {
  it("moves a series-ordered history into time order on upgrade, every row kept and answered", () => {
    const old = mkdtempSync(join(tmpdir(), "gptest-history-upgrade-"));
    try {
      // The tables as they were before the upgrade, holding an hour of two containers' averages.
      const first = openDatabase(old);
      const version = (first.query("PRAGMA user_version").get() as { user_version: number }).user_version;
      useSeriesOrderedTables(first);
      const sid = (ref: string) =>
        (
          first.query("INSERT INTO stats_series (env, ref) VALUES ('up', ?) RETURNING sid").get(ref) as {
            sid: number;
          }
        ).sid;
      const sids = [sid("a"), sid("b")];
      // The last hour, and 11 hours from a day ago: 10 s averages are kept 6 hours now.
      const start = Math.floor(Date.now() / 60_000) * 60 - 3600;
      const put = first.query("INSERT INTO stats_10s VALUES (?, ?, ?, 1000, 10, 20, 0, 0, 3)");
      for (const [k, s] of sids.entries()) {
        for (let i = 0; i < 360; i++) put.run(s, start + i * 10, k * 100 + i);
        for (let i = 0; i < 4000; i++) put.run(s, start - 86_400 + i * 10, 7);
      }
      // Minutes are kept 30 days: a week-old one is copied.
      first
        .query("INSERT INTO stats_1m VALUES (?, ?, 5, 1000, 10, 20, 0, 0, 3)")
        .run(sids[0]!, start - 7 * 86_400);
      first.exec(`PRAGMA user_version = ${version - 2}`);
      first.close();

      const upgraded = openDatabase(old);
      try {
        const ddl = (
          upgraded.query("SELECT sql FROM sqlite_schema WHERE name = 'stats_10s'").get() as {
            sql: string;
          }
        ).sql;
        expect(ddl).toContain("PRIMARY KEY (t, sid)");
        // The old tables' pages are given back, not left free in the file.
        expect(upgraded.query("PRAGMA freelist_count").get()).toEqual({ freelist_count: 0 });
        expect(upgraded.query("SELECT count(*) AS n FROM stats_10s").get()).toEqual({ n: 720 });
        expect(upgraded.query("SELECT count(*) AS n FROM stats_1m").get()).toEqual({ n: 1 });
        const h = new StatsHistory(upgraded, "up", 1000);
        const now = (start + 3600) * 1000;
        const hour = h.query("b", "1h", now)!;
        expect(hour.t).toHaveLength(360);
        expect(hour.series.cpu_percent[0]).toBe(100);
        expect(hour.series.cpu_percent[359]).toBe(459);
        // 6 hours: 2 buckets a point (6 h / 2,000 points, in 10 s steps).
        expect(h.query("a", "6h", now)!.series.cpu_percent[0]).toBe(0.5);
        expect(h.query("a", "30d", now)!.series.cpu_percent[0]).toBe(5);
      } finally {
        upgraded.close();
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it("lets rows older than what a rollup keeps go as its buckets are written", () => {
    const h = new StatsHistory(db, "order", 1000);
    const sixHours = 6 * 3_600_000;
    const rows = new Map([
      ["x", row(1)],
      ["y", row(2)],
    ]);
    for (let i = 0; i <= 20; i++) h.record(T0 + i * 1000, rows);
    // 6 hours and a bucket later: the first buckets are past what stats_10s keeps.
    for (let i = 0; i <= 20; i++) h.record(T0 + sixHours + 10_000 + i * 1000, rows);
    const times = (
      db
        .query(
          "SELECT t FROM stats_10s WHERE sid IN (SELECT sid FROM stats_series WHERE env = 'order') ORDER BY t",
        )
        .all() as { t: number }[]
    ).map((r) => r.t);
    expect(times.length).toBeGreaterThan(0);
    expect(times.every((t) => t >= (T0 + 10_000) / 1000)).toBe(true);
    expect(h.query("x", "15m", T0 + sixHours + 30_000)!.series.cpu_percent.at(-1)).toBe(1);
  });
});
