import { readFileSync, readlinkSync } from "node:fs";
import { turn } from "./turn.ts";

/** Linux 5.4's MADV_PAGEOUT: reclaim these pages now; a later use faults them back in from the file. */
const MADV_PAGEOUT = 21;

/** How long after the listener opens the start is taken to be over: engines synced, first stats ticks read. */
export const START_OVER_MS = 15_000;
/** How often RssFile is read to see whether a burst has left pages behind. */
export const CHECK_EVERY_MS = 30_000;
/** How far over the settled baseline RssFile must be for a hand-back to be worth its faults. */
export const OVER_BASELINE_BYTES = 4 << 20;
/**
 * Less growth than this between two checks counts as stopped: what the process uses again after a
 * hand-back faults back in for minutes (a few MB over 6 minutes, docs/decisions.md), and waiting
 * for no growth at all would never hand back.
 */
export const STILL_GROWING_BYTES = 1 << 20;
/** Hand-backs at most this often: each one costs the faults of what is used again. */
export const HAND_BACK_SPACING_MS = 90_000;
/** One madvise call covers at most this much; the event loop turns between calls. */
export const SLICE_BYTES = 4 << 20;

/** What the checks know of the executable's pages since the last hand-back. */
export interface PageWatch {
  handedBackAt: number;
  /**
   * RssFile at the first check after the hand-back at which it stopped growing: what the process
   * goes on using, faulted back in; unset until then. Read at the hand-back itself, or while the
   * working set still faults back (up to ~4 MB in the 2 minutes after it), the creep that follows
   * every hand-back would pass for a burst and buy another.
   */
  baseline?: number;
  /** RssFile at the check before. */
  previous?: number;
}

/**
 * One check, as a pure function of the watch, RssFile now and the clock: hand back when RssFile is
 * `OVER_BASELINE_BYTES` over the baseline (a burst faulted code in or the JIT ran new paths), has
 * stopped growing (the burst is over: handing back during it would only fault the pages in again),
 * and the last hand-back is `HAND_BACK_SPACING_MS` old.
 */
export function checkPages(
  watch: PageWatch,
  rssFile: number,
  now: number,
): { watch: PageWatch; handBack: boolean } {
  const stopped = watch.previous !== undefined && rssFile - watch.previous < STILL_GROWING_BYTES;
  const next = { ...watch, previous: rssFile };
  if (watch.baseline === undefined)
    return { watch: stopped ? { ...next, baseline: rssFile } : next, handBack: false };
  const over = rssFile >= watch.baseline + OVER_BASELINE_BYTES;
  const spaced = now - watch.handedBackAt >= HAND_BACK_SPACING_MS;
  return { watch: next, handBack: over && stopped && spaced };
}

/** RssFile of /proc/self/status (or of the text given), in bytes; 0 when there is none. */
export function rssFileBytes(status = readFileSync("/proc/self/status", "utf8")): number {
  const kib = /^RssFile:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

/** [start, length] of every mapping of `path` in a /proc/self/maps text. */
export function mappingsOf(path: string, maps = readFileSync("/proc/self/maps", "utf8")): [bigint, bigint][] {
  const ranges: [bigint, bigint][] = [];
  for (const line of maps.split("\n")) {
    const [range, , , , , file] = line.split(/\s+/);
    if (file !== path || !range) continue;
    const [from, to] = range.split("-").map((x) => BigInt(`0x${x}`)) as [bigint, bigint];
    ranges.push([from, to - from]);
  }
  return ranges;
}

type Advise = (from: bigint, length: bigint) => boolean;

/**
 * `advise` over the ranges in slices of `SLICE_BYTES`, with a turn of the event loop between two
 * slices: MADV_PAGEOUT over the whole executable in one call held the main thread 10.4–12.6 ms on a
 * quiet machine (77–179 ms under load), in slices at most 1.2–1.6 ms (docs/decisions.md, "A burst's
 * pages handed back too"). Returns the bytes advised.
 */
export async function adviseInSlices(ranges: [bigint, bigint][], advise: Advise): Promise<number> {
  let done = 0;
  let first = true;
  for (const [from, length] of ranges)
    for (let at = 0n; at < length; at += BigInt(SLICE_BYTES)) {
      if (!first) await turn();
      first = false;
      const slice = length - at < BigInt(SLICE_BYTES) ? length - at : BigInt(SLICE_BYTES);
      if (advise(from + at, slice)) done += Number(slice);
    }
  return done;
}

/**
 * Hands the pages of `ranges` (the executable's mappings unless given) back to the kernel. The
 * kernel takes only clean pages, which it can read again from the file; pages the process wrote are
 * its own anonymous memory and stay (there is no swap to put them in). Any failure (not Linux, a
 * libc that is not glibc's, a kernel older than 5.4) leaves things as they were: it only costs
 * memory. Returns the bytes handed back.
 */
export async function handBackPages(ranges?: [bigint, bigint][]): Promise<number> {
  if (process.platform !== "linux") return 0;
  try {
    const own = ranges ?? mappingsOf(readlinkSync("/proc/self/exe"));
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    });
    try {
      return await adviseInSlices(
        own,
        (from, length) => libc.symbols.madvise(from, length, MADV_PAGEOUT) === 0,
      );
    } finally {
      libc.close();
    }
  } catch {
    return 0;
  }
}

/**
 * Hands the executable's pages back when the start is over, and again after each burst that left
 * pages behind. Start-up runs code that does not run again (the module loader, every schema being
 * built, migrations, the certificate, each engine's first sync, the JIT compiling all of that):
 * ~15 MB of the executable's 114 MB stay resident after it, in a process whose working set of code
 * is about half of what it touched. A burst later (containers arriving, a login and a page's
 * subscriptions) does the same on a smaller scale. Whatever the process goes on using comes back on
 * its first use; what it never uses again stops counting against a small box's memory now rather
 * than when the kernel runs short. The timers never keep the process alive. Returns the stop.
 */
export function keepHandingBackPages(): () => void {
  if (process.platform !== "linux") return () => {};
  let watch: PageWatch | undefined;
  let running = false;
  const handBack = async () => {
    running = true;
    try {
      await handBackPages();
    } finally {
      running = false;
      watch = { handedBackAt: Date.now() };
    }
  };
  const start = setTimeout(() => void handBack(), START_OVER_MS);
  const checks = setInterval(() => {
    if (!watch || running) return;
    const checked = checkPages(watch, rssFileBytes(), Date.now());
    watch = checked.watch;
    if (checked.handBack) void handBack();
  }, CHECK_EVERY_MS);
  start.unref();
  checks.unref();
  return () => {
    clearTimeout(start);
    clearInterval(checks);
  };
}
