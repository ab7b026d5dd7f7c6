import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StatsHistory } from "../../src/stats/history.ts";
import { openDatabase } from "../../src/store/database.ts";

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
});
