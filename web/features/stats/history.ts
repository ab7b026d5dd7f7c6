/** Figures over time: `GET /api/v1/envs/{env}/stats/history`, kept as columns ready for graphs. */
import {
  HISTORY_FIELDS,
  type HistoryAnswer,
  type HistoryField,
  type HistoryRange,
} from "../../../src/protocol/history.ts";
import { api } from "../../lib/api.ts";

/** The series graphs draw, in column order after the time column: all history keeps but the process count. */
export type SeriesName = Exclude<HistoryField, "pids">;
export const SERIES = HISTORY_FIELDS.filter((f): f is SeriesName => f !== "pids");

/** Time (unix seconds) and one array per SERIES entry, all the same length. */
export interface Columns {
  t: number[];
  v: (number | null)[][];
}

export function emptyColumns(): Columns {
  return { t: [], v: SERIES.map(() => []) };
}

export function fetchHistory(env: string, id: string, range: HistoryRange): Promise<HistoryAnswer> {
  const query = new URLSearchParams({ id, range });
  return api<HistoryAnswer>("GET", `/envs/${encodeURIComponent(env)}/stats/history?${query}`);
}

/**
 * Columns from an answer. Rollups have no rows where nothing ran, so a missing step becomes a null
 * point: the graph shows a gap rather than a line drawn across the time the container was down.
 */
export function toColumns(answer: HistoryAnswer): Columns {
  const out = emptyColumns();
  const step = answer.step_ms / 1000;
  const src = SERIES.map((name) => answer.series[name] ?? []);
  answer.t.forEach((t, i) => {
    const prev = out.t.at(-1);
    if (step > 0 && prev !== undefined && t - prev > step * 2.5) {
      out.t.push(prev + step);
      for (const col of out.v) col.push(null);
    }
    out.t.push(t);
    src.forEach((s, k) => {
      out.v[k]!.push(s[i] ?? null);
    });
  });
  return out;
}

/** Appends one sample (null values: the container was not running at that tick). */
export function appendSample(cols: Columns, t: number, values: (number | null)[] | null): void {
  cols.t.push(t);
  cols.v.forEach((col, k) => {
    col.push(values ? (values[k] ?? null) : null);
  });
}

/** Drops samples older than `since` (unix seconds) and keeps at most `max`. */
export function trimColumns(cols: Columns, since: number, max: number): void {
  let drop = 0;
  while (drop < cols.t.length && cols.t[drop]! < since) drop++;
  drop = Math.max(drop, cols.t.length - max);
  if (drop <= 0) return;
  cols.t.splice(0, drop);
  for (const col of cols.v) col.splice(0, drop);
}
