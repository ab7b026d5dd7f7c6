import * as z from "zod/mini";
import { ApiError } from "../http/errors.ts";

/**
 * What a prune may be limited to: labels (`key` or `key=value`, all must match) and an age. The
 * same filters go to the engine and into the preview, so the preview names what the engine removes.
 */
export const PruneQuery = z.object({
  label: z.optional(
    z.union([
      z.string().check(z.maxLength(512)),
      z.array(z.string().check(z.maxLength(512))).check(z.maxLength(32)),
    ]),
  ),
  until: z.optional(z.string().check(z.maxLength(64))),
});
export type PruneQueryInput = z.output<typeof PruneQuery>;

export interface PruneFilters {
  labels: { key: string; value: string | undefined }[];
  /** unix seconds: only what was created before this */
  until: number | undefined;
}

const LABEL_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_.\-/]*$/;
const DURATION = /^(\d{1,9})(s|m|h)$/;

export function pruneFilters(query: PruneQueryInput, now = Date.now()): PruneFilters {
  const given =
    query.label === undefined ? [] : typeof query.label === "string" ? [query.label] : query.label;
  const labels = given.map((l) => {
    const i = l.indexOf("=");
    const key = i < 0 ? l : l.slice(0, i);
    if (!LABEL_KEY.test(key))
      throw new ApiError(400, "invalid_request", `label: "${l}" is not key or key=value`);
    return { key, value: i < 0 ? undefined : l.slice(i + 1) };
  });
  return { labels, until: untilOf(query.until, now) };
}

function untilOf(until: string | undefined, now: number): number | undefined {
  if (until === undefined || until === "") return undefined;
  const d = DURATION.exec(until);
  if (d) return Math.floor(now / 1000) - Number(d[1]) * { s: 1, m: 60, h: 3600 }[d[2] as "s" | "m" | "h"];
  if (/^\d{1,12}$/.test(until)) return Number(until);
  const t = Date.parse(until);
  if (Number.isNaN(t))
    throw new ApiError(
      400,
      "invalid_request",
      "until: a duration (24h, 30m), unix seconds or an RFC 3339 time",
    );
  return Math.floor(t / 1000);
}

/** Whether an object with these labels, created then (unix seconds), is within the filters. */
export function withinFilters(
  f: PruneFilters,
  labels: Record<string, string> | null | undefined,
  created: number,
): boolean {
  const l = labels ?? {};
  if (f.until !== undefined && !(created < f.until)) return false;
  return f.labels.every(({ key, value }) => (value === undefined ? key in l : l[key] === value));
}

export function isFiltered(f: PruneFilters): boolean {
  return f.labels.length > 0 || f.until !== undefined;
}

/** The engine's `filters` query parameter for the same filters (and any of a kind's own). */
export function engineFilters(f: PruneFilters, extra: Record<string, string[]> = {}): string {
  const filters: Record<string, string[]> = { ...extra };
  if (f.labels.length)
    filters.label = f.labels.map(({ key, value }) => (value === undefined ? key : `${key}=${value}`));
  if (f.until !== undefined) filters.until = [String(f.until)];
  return `filters=${encodeURIComponent(JSON.stringify(filters))}`;
}
