/**
 * What the stats history's writes and reads cost the main thread at 1,000 containers:
 * `bun bench/history-writes.ts [--quick]` (table on stdout, then JSON; progress on stderr).
 *
 * The panel's own `StatsHistory` records simulated ticks of 1,000 series (3 hours of them, 1 with
 * `--quick`) into a database file made by the panel's own `openDatabase`: the tables in time order,
 * as the panel keeps them. The baseline is the same code, the same ticks, into tables rebuilt in
 * series order (`PRIMARY KEY (sid, t)`, the layout before issue #14), in the same run, the two
 * taking turns an hour at a time so that load falls on both alike. Reported: the time `record`
 * holds the thread on ticks that write a bucket (p50/p99/max), on the other ticks, and each
 * history range's read for one series at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_RANGES, type HistoryRange } from "../src/protocol/history.ts";
import { StatsHistory } from "../src/stats/history.ts";
import { openDatabase } from "../src/store/database.ts";
import { useSeriesOrderedTables } from "../tests/helpers/stats-tables.ts";
import { type Row, table } from "./lib/report.ts";
import { log, percentile, round } from "./lib/util.ts";

const QUICK = process.argv.includes("--quick");
const HOURS = QUICK ? 1 : 3;
const SERIES = 1000;
const LAYOUTS = ["time", "series"] as const;
type Layout = (typeof LAYOUTS)[number];

interface Run {
  history: StatsHistory;
  flush: number[];
  other: number[];
  close(): void;
}

function open(layout: Layout): Run {
  const dir = mkdtempSync(join(tmpdir(), `gphist-${layout}-`));
  const db = openDatabase(dir, () => {});
  if (layout === "series") {
    useSeriesOrderedTables(db);
  }
  return {
    history: new StatsHistory(db, "bench", 1000),
    flush: [],
    other: [],
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const rows = new Map<string, Float64Array>();
for (let i = 0; i < SERIES; i++) rows.set(i.toString(16).padStart(64, "0"), new Float64Array(7));
/** Figures that move like a busy mix's: CPU and memory differ every tick, a few pids. */
function fill(tick: number): void {
  let i = 0;
  for (const r of rows.values()) {
    r[0] = ((i * 7 + tick) % 97) / 3;
    r[1] = 8e6 + ((i * 131 + tick * 17) % 1000) * 1024;
    r[2] = (i + tick) % 5 === 0 ? 1200 : 0;
    r[3] = r[2];
    r[6] = 3;
    i++;
  }
}

const runs = Object.fromEntries(LAYOUTS.map((l) => [l, open(l)])) as Record<Layout, Run>;
const start = Math.floor(Date.now() / 60_000) * 60_000 - HOURS * 3_600_000;
try {
  for (let hour = 0; hour < HOURS; hour++) {
    for (const layout of LAYOUTS) {
      log(`history writes: ${layout} order, hour ${hour + 1} of ${HOURS}`);
      const run = runs[layout];
      for (let s = 0; s < 3600; s++) {
        const tick = hour * 3600 + s;
        const at = start + tick * 1000;
        fill(tick);
        const t0 = performance.now();
        run.history.record(at, rows);
        const took = performance.now() - t0;
        // A bucket is written on the first tick of the next one (every 10 s, and each minute).
        (tick % 10 === 0 ? run.flush : run.other).push(took);
      }
    }
  }
  const now = start + HOURS * 3_600_000;
  const ref = rows.keys().next().value!;
  const reads = Object.fromEntries(
    LAYOUTS.map((layout) => [
      layout,
      Object.fromEntries(
        (Object.keys(HISTORY_RANGES) as HistoryRange[]).map((range) => {
          const times: number[] = [];
          for (let i = 0; i < 5; i++) {
            const t0 = performance.now();
            runs[layout].history.query(ref, range, now);
            times.push(performance.now() - t0);
          }
          return [range, round(percentile(times, 50))];
        }),
      ),
    ]),
  ) as Record<Layout, Record<HistoryRange, number>>;

  const stat = (samples: number[]) => ({
    p50_ms: round(percentile(samples, 50)),
    p99_ms: round(percentile(samples, 99)),
    max_ms: round(Math.max(...samples)),
    n: samples.length,
  });
  const result = Object.fromEntries(
    LAYOUTS.map((l) => [l, { flush: stat(runs[l].flush), other: stat(runs[l].other), reads: reads[l] }]),
  ) as Record<
    Layout,
    { flush: ReturnType<typeof stat>; other: ReturnType<typeof stat>; reads: Record<HistoryRange, number> }
  >;
  const ratio = (a: number, b: number) => `${round(a / b)}x`;
  const bench = `history, ${SERIES} series, ${HOURS} h`;
  const tableRows: Row[] = [
    ...(["p50_ms", "p99_ms", "max_ms"] as const).map((k) => ({
      benchmark: bench,
      metric: `a bucket's write (record on its tick), ${k.replace("_ms", "")}`,
      panel: `${result.time.flush[k]} ms`,
      baseline: `${result.series.flush[k]} ms (series order)`,
      ratio: ratio(result.time.flush[k], result.series.flush[k]),
    })),
    {
      benchmark: bench,
      metric: "other ticks, p99",
      panel: `${result.time.other.p99_ms} ms`,
      baseline: `${result.series.other.p99_ms} ms (series order)`,
      ratio: ratio(result.time.other.p99_ms, result.series.other.p99_ms),
    },
    ...(Object.keys(HISTORY_RANGES) as HistoryRange[]).map((range) => ({
      benchmark: bench,
      metric: `read ${range} of one series, p50 of 5`,
      panel: `${result.time.reads[range]} ms`,
      baseline: `${result.series.reads[range]} ms (series order)`,
      ratio: ratio(result.time.reads[range], result.series.reads[range]),
    })),
  ];
  process.stdout.write(
    `${table(tableRows)}\n\n${JSON.stringify({ bench: "history-writes", series: SERIES, hours: HOURS, result }, null, 2)}\n`,
  );
} finally {
  for (const run of Object.values(runs)) run.close();
}
