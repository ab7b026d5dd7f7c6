import type { LogLine } from "./views.ts";

/**
 * Many log lines in one frame, by column (docs/protocol.md, `logs:` `lines`). A line as an object
 * repeats its key names, the stream's name and a 30-character timestamp; here a line costs its text
 * plus a few bytes: times are microseconds since the Unix epoch, the first one whole (`t`) and each
 * next as the difference from the line before (`d`, mostly a byte or two), and only the stderr
 * lines are listed (`e`, their indexes; absent when there are none).
 */
export interface LogBatch {
  /** the first line's time in µs since the epoch (0: the engine gave no time) */
  t: number;
  /** per line: its time minus the previous line's (the first: 0) */
  d: number[];
  /** indexes of the lines written to stderr, ascending */
  e?: number[];
  /** per line: its text */
  x: string[];
}

// RFC 3339 as the engine writes it: the fraction (up to nanoseconds) is read apart from the rest,
// since Date.parse keeps only milliseconds and the order of lines within one needs more.
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** An engine timestamp as µs since the epoch; 0 when there is none or it cannot be read. */
export function toMicros(time: string | null): number {
  if (!time) return 0;
  const m = RFC3339.exec(time);
  if (!m) return 0;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return 0;
  return seconds * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}

/** An RFC 3339 time as the engine's `since`/`until` take it, to the nanosecond; null when it is not one. */
export function rfc3339ToEngineTime(time: string): string | null {
  const m = RFC3339.exec(time);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) return null;
  return `${Math.floor(ms / 1000)}.${(m[2] ?? "").padEnd(9, "0").slice(0, 9)}`;
}

/**
 * µs since the epoch as the engine's `since`/`until` take it (seconds, nanosecond fraction); both
 * bounds are inclusive, so an `until` covers the whole microsecond (`endOfMicro`).
 */
export function microsToEngineTime(us: number, endOfMicro = false): string {
  const seconds = Math.floor(us / 1e6);
  return `${seconds}.${String(us - seconds * 1e6).padStart(6, "0")}${endOfMicro ? "999" : "000"}`;
}

/** Lines without a time (a long line's later pieces) take the time of the line before. */
export function packLines(lines: readonly LogLine[]): LogBatch {
  const d: number[] = new Array(lines.length);
  const x: string[] = new Array(lines.length);
  const e: number[] = [];
  let first = 0;
  let prev = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const us = toMicros(line.time) || prev;
    if (i === 0) first = prev = us;
    d[i] = us - prev;
    prev = us;
    x[i] = line.text;
    if (line.stream === "stderr") e.push(i);
  }
  return e.length ? { t: first, d, e, x } : { t: first, d, x };
}

/** Calls `each` with every line of a batch, its time in µs and whether it came from stderr. */
export function forEachLine(
  batch: LogBatch,
  each: (text: string, us: number, stderr: boolean) => void,
): void {
  let us = batch.t;
  let nextErr = 0;
  const errs = batch.e ?? [];
  for (let i = 0; i < batch.x.length; i++) {
    us += batch.d[i] ?? 0;
    const stderr = errs[nextErr] === i;
    if (stderr) nextErr++;
    each(batch.x[i] ?? "", us, stderr);
  }
}

/** A batch's lines as objects, for callers that are not counting bytes (tests, scripts). */
export function linesOf(batch: LogBatch): { text: string; us: number; stderr: boolean }[] {
  const out: { text: string; us: number; stderr: boolean }[] = [];
  forEachLine(batch, (text, us, stderr) => out.push({ text, us, stderr }));
  return out;
}
