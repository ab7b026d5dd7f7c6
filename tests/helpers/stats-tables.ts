import type { Database } from "bun:sqlite";

/**
 * The stats history's rollup tables as they were before they moved into time order (series first
 * in the key): for the upgrade's test and for the bench that measures the two layouts side by side.
 */
export function useSeriesOrderedTables(db: Database): void {
  db.exec(
    ["stats_10s", "stats_1m"]
      .map(
        (t) => `DROP TABLE ${t}; CREATE TABLE ${t} (sid INTEGER NOT NULL, t INTEGER NOT NULL,
          cpu REAL, mem REAL, rx REAL, tx REAL, br REAL, bw REAL, pids REAL, PRIMARY KEY (sid, t)) WITHOUT ROWID;`,
      )
      .join("\n"),
  );
}
