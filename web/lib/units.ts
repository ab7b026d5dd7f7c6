/** Figures for people: bytes, rates and CPU shares (the stats pages only, kept out of the first load). */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes the way `docker stats` shows memory: binary units, three significant digits. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return "0 B";
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  const digits = i === 0 || n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** CPU share as shown in tables: one decimal below 10 %, whole numbers above (the wire keeps no more). */
export function cpuText(percent: number): string {
  return percent < 10 ? percent.toFixed(1) : percent.toFixed(0);
}
