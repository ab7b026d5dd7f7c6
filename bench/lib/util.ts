import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Repository root (bench/lib/ is two levels down). */
export const ROOT = join(import.meta.dir, "..", "..");

/** Identifies this run in container labels, names and temp dirs; the pid lets later runs sweep leftovers. */
export const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const TEMP_PREFIX = "ghostpanel-bench-";

/** Progress goes to stderr so stdout carries only the table and the JSON document. */
export function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

// ---- cleanup: every resource registers its undo; undone in reverse order, also on SIGINT/SIGTERM ----

type Cleanup = () => unknown;
let stopping = false;

/** True once a signal or the watchdog asked the run to end: long loops stop starting new work. */
export function isStopping(): boolean {
  return stopping;
}
const cleanups: { what: string; fn: Cleanup; boundMs: number }[] = [];

/** `boundMs`: how long the undo may take before the run gives up on it (removing 500 containers takes minutes). */
export function defer(what: string, fn: Cleanup, boundMs = 60_000): void {
  cleanups.push({ what, fn, boundMs });
}

/** Undoes everything registered so far; every caller (signal, watchdog, normal end) shares one pass. */
let cleaning: Promise<void> | undefined;
export function runCleanups(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { what, fn, boundMs } = cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve(fn()), boundMs, `cleanup: ${what}`);
      } catch (err) {
        log(`cleanup of ${what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

// ---- time ----

export function sleep(ms: number): Promise<void> {
  return Bun.sleep(ms);
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` gives a value (not undefined), at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

// ---- numbers ----

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(samples: number[]): number {
  return samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : Number.NaN;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---- temp dirs and ports ----

/** A temp dir named after this run, removed at cleanup. */
export function tempDir(hint: string): string {
  if (stopping) throw new Error("the run is ending");
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-${hint}-`));
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Removes temp dirs left by earlier runs whose process is gone. Returns how many. */
export function sweepTempDirs(): number {
  let removed = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split("-")[0]);
    if (pid === process.pid || benchAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Is `pid` a bench run still going? (A pid reused by another program does not count.) */
export function benchAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return /bench\/(run|volume-compare)\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

/** A free loopback TCP port (asked from the kernel, then released for the child to take). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** `name N` among the arguments as a whole number ≥ `min`; undefined when not given, exits when not a number. */
/** The value of `--name value` or `--name=value` in argv, if given. */
export function flagValue(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes("=") ? argv[i]!.slice(name.length + 1) : argv[i + 1];
}

export function numberArg(name: string, min = 1): number | undefined {
  const value = flagValue(process.argv, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: ${name} takes a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
}
