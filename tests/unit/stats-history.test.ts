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
  it("keeps 15 minutes at full rate, with gaps where a container was not running", () => {
    const h = new StatsHistory(db, "ring", 1000);
    for (let i = 0; i < 1200; i++) {
      // CPU climbs by 1 % a tick and wraps at 1000 %: every value is kept to 3 significant digits.
      const rows = new Map([["a", row(i % 1000)]]);
      if (i % 100 !== 50) rows.set("b", row(1));
      h.record(T0 + i * 1000, rows);
    }
    const now = T0 + 1199 * 1000;
    const a = h.query("a", "15m", now)!;
    expect(a.step_ms).toBe(1000);
    expect(a.t.length).toBe(901);
    expect(a.t.at(-1)).toBe(now / 1000);
    expect(a.series.cpu_percent.at(-1)).toBe(199);
    expect(a.series.cpu_percent[0]).toBe(299);
    const b = h.query("b", "15m", now)!;
    expect(b.series.cpu_percent.filter((v) => v === null)).toHaveLength(9);
    expect(h.query("nobody", "15m", now)).toBeUndefined();
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
    for (let i = 20; i < 20 + 15 * 60 + 2; i++) h.record(T0 + i * 1000, new Map([["kept", row(1)]]));
    expect(h.heldSeries).toBe(1);
  });
});
