import type { StatsView } from "../protocol/stats-frames.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB": three significant figures at most, as `docker stats` shows sizes. */
export function bytes(n: number): string {
  let value = Math.max(0, n);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(Math.round(value)) : value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0);
  return `${shown} ${UNITS[unit]}`;
}

export interface TableOptions {
  /** the first line: where the figures come from */
  title: string;
  /** the terminal's size; undefined: as many rows and as wide as needed (--once into a pipe) */
  columns?: number;
  rows?: number;
}

/**
 * The top-like view: one line per running container, the busiest first. Returns the lines; a
 * terminal's are cut to its size (the last line says how many containers did not fit).
 */
export function renderTable(views: StatsView[], options: TableOptions): string[] {
  const sorted = [...views].sort((a, b) => b.cpu_percent - a.cpu_percent || a.name.localeCompare(b.name));
  const cells = sorted.map((v) => [
    v.name,
    v.cpu_percent.toFixed(1),
    bytes(v.mem_usage),
    v.mem_limit > 0 ? bytes(v.mem_limit) : "-",
    `${bytes(v.net_rx_rate)}/s`,
    `${bytes(v.net_tx_rate)}/s`,
  ]);
  const header = ["NAME", "CPU %", "MEM", "LIMIT", "NET RX", "NET TX"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // Names take what the figures leave of a narrow terminal.
  const figures = widths.slice(1).reduce((sum, w) => sum + w + 2, 0);
  if (options.columns !== undefined) widths[0] = Math.max(8, Math.min(widths[0]!, options.columns - figures));
  const line = (row: string[]) =>
    row
      .map((cell, i) => {
        const w = widths[i]!;
        const fitted = cell.length > w ? `${cell.slice(0, Math.max(0, w - 1))}…` : cell;
        return i === 0 ? fitted.padEnd(w) : fitted.padStart(w);
      })
      .join("  ")
      .trimEnd();
  const lines = [options.title, "", line(header)];
  const room = options.rows === undefined ? cells.length : Math.max(0, options.rows - lines.length - 1);
  for (const row of cells.slice(0, room)) lines.push(line(row));
  if (cells.length > room) lines.push(`… ${cells.length - room} more`);
  if (cells.length === 0) lines.push("(no running containers)");
  return options.columns === undefined ? lines : lines.map((l) => l.slice(0, options.columns));
}
