/** Figures over time: `GET /api/v1/envs/<env>/stats/history?id=…&range=…`. */

/** The series history keeps, in this order (display units: %, bytes, bytes/s, count). */
export const HISTORY_FIELDS = [
  "cpu_percent",
  "mem_usage",
  "net_rx_rate",
  "net_tx_rate",
  "blk_read_rate",
  "blk_write_rate",
  "pids",
] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

export type HistoryRange = "15m" | "1h" | "6h" | "24h" | "7d" | "30d";

/** Each range's length in seconds. */
export const HISTORY_RANGES: Record<HistoryRange, number> = {
  "15m": 15 * 60,
  "1h": 3600,
  "6h": 6 * 3600,
  "24h": 24 * 3600,
  "7d": 7 * 86400,
  "30d": 30 * 86400,
};

export interface HistoryAnswer {
  id: string;
  range: HistoryRange;
  step_ms: number;
  /** Unix seconds. */
  t: number[];
  /** Aligned with t; null where there was no figure. */
  series: Record<HistoryField, (number | null)[]>;
}
