import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { defer, isStopping, log, ROOT, sleep, withTimeout } from "./util.ts";

export const BINARY = join(ROOT, "dist", "ghostpanel");

/** What the bench measures: the built binary, or (only while it does not exist yet) the source. */
export interface Target {
  kind: "binary" | "source";
  path: string;
  command: string[];
  bytes?: number;
  /** mtime of dist/ghostpanel when the run copied it */
  built?: string;
}

/**
 * The binary is copied to `workDir` first: others rebuild dist/ghostpanel while a bench runs, and
 * every measurement of one run must be of the same executable.
 */
export function panelTarget(workDir: string): Target {
  if (existsSync(BINARY) && process.env.GHOSTPANEL_BENCH_SOURCE !== "1") {
    const { mtime } = statSync(BINARY);
    const copy = join(workDir, "ghostpanel");
    copyFileSync(BINARY, copy);
    chmodSync(copy, 0o755);
    const { size } = statSync(copy);
    return {
      kind: "binary",
      path: "dist/ghostpanel",
      command: [copy],
      bytes: size,
      built: mtime.toISOString(),
    };
  }
  return { kind: "source", path: "src/main.ts", command: [process.execPath, join(ROOT, "src", "main.ts")] };
}

export interface Child {
  proc: Subprocess;
  pid: number;
  logPath: string;
  stop(): Promise<void>;
}

/** Starts a process with its output in `logPath`; it is stopped at cleanup if not before. */
export function start(command: string[], logPath: string, env?: Record<string, string>): Child {
  if (isStopping()) throw new Error("the run is ending");
  const out = Bun.file(logPath);
  const proc = Bun.spawn(command, {
    cwd: ROOT,
    stdin: "ignore",
    stdout: out,
    stderr: out,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let stopped: Promise<void> | undefined;
  const child: Child = {
    proc,
    pid: proc.pid,
    logPath,
    stop() {
      stopped ??= stopProcess(proc);
      return stopped;
    },
  };
  defer(`process ${proc.pid} (${command[0]})`, () => child.stop());
  return child;
}

/** SIGTERM, then SIGKILL if it has not gone within 3 s. */
async function stopProcess(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  try {
    await withTimeout(proc.exited, 3_000, `process ${proc.pid} to exit`);
  } catch {
    log(`process ${proc.pid} ignored SIGTERM; killing it`);
    proc.kill("SIGKILL");
    await withTimeout(proc.exited, 5_000, `process ${proc.pid} to die`);
  }
}

export function tail(logPath: string, lines = 15): string {
  try {
    // Minified bundle lines in stack traces run to kilobytes: keep the start of each.
    return readFileSync(logPath, "utf8")
      .trimEnd()
      .split("\n")
      .slice(-lines)
      .map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l))
      .join("\n");
  } catch {
    return "(no log)";
  }
}

/** Accepts the panel's self-signed certificate; only ever used against loopback. */
export const INSECURE_TLS = { tls: { rejectUnauthorized: false } };

/**
 * Polls `url` every `everyMs` until it answers 200; returns the body and when it came (performance.now()).
 * Fails fast if the process exits.
 */
export async function firstAnswer(
  child: Child,
  url: string,
  timeoutMs: number,
  everyMs = 1,
): Promise<{ at: number; body: string }> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(
        `process exited (${child.proc.exitCode ?? child.proc.signalCode}):\n${tail(child.logPath)}`,
      );
    }
    try {
      const res = await fetch(url, { ...INSECURE_TLS, signal: AbortSignal.timeout(1_000) });
      const body = await res.text();
      if (res.status === 200) return { at: performance.now(), body };
    } catch {
      // not listening yet
    }
    await sleep(everyMs);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms:\n${tail(child.logPath)}`);
}

/**
 * VmRSS and VmHWM of a process, in KiB, and VmRSS's two parts: anonymous (heaps: what the process
 * made) and file-backed (the executable's pages it has touched and still maps).
 */
export function memoryOf(pid: number): { rssKiB: number; hwmKiB: number; anonKiB: number; fileKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return {
    rssKiB: field("VmRSS"),
    hwmKiB: field("VmHWM"),
    anonKiB: field("RssAnon"),
    fileKiB: field("RssFile"),
  };
}

// ---- CPU time, from /proc/<pid>/stat ----

/** Processes by role; a process is in the first role whose test its command name (comm) passes. */
export function processesBy(
  roles: Record<string, (comm: string) => boolean>,
  /** Only processes whose command line holds this (a private engine's directory). */
  within?: string,
): Record<string, number[]> {
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(roles).map((r) => [r, []]));
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${name}/comm`, "utf8").trim();
      if (within && !readFileSync(`/proc/${name}/cmdline`, "utf8").includes(within)) continue;
    } catch {
      continue;
    }
    for (const [role, test] of Object.entries(roles)) {
      if (test(comm)) {
        out[role]!.push(Number(name));
        break;
      }
    }
  }
  return out;
}

/**
 * CPU time of each thread of a process, ns, from /proc/<pid>/task/<tid>/schedstat (the scheduler's
 * own count, exact, where utime and stime are sampled in 10 ms ticks: too coarse for a hundred
 * shims using a few ms each). Undefined if the process is gone.
 */
function threadTimes(pid: number): Map<number, number> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<number, number>();
  for (const tid of tids) {
    try {
      out.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * A process's main thread: ms it ran and ms it waited, runnable, for a CPU (schedstat), so far.
 * The wait is the scheduler's share of a frame's time: a thread woken to read or send that finds
 * its CPU taken.
 */
export function mainThreadSched(pid: number): { runMs: number; waitMs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ").map(Number);
    return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
  } catch {
    return undefined;
  }
}

/**
 * A server started in a session of its own, as a service manager starts one (systemd calls
 * setsid for every service). The kernel's autogroups (`sched_autogroup_enabled`) schedule each
 * session as one group, weighted on each CPU by the group's load there: a panel left in the
 * bench's session shares its weight with the bench's clients (pinned to the other CPU) and with a
 * private engine's dockerd.
 */
export const OWN_SESSION = ["setsid"];

/** Pins every thread of `pid` to one CPU; false if taskset could not. */
export function pin(pid: number, cpu: number): boolean {
  const res = Bun.spawnSync(["taskset", "-a", "-pc", String(cpu), String(pid)], {
    stdout: "ignore",
    stderr: "ignore",
  });
  return res.exitCode === 0;
}

export type CpuSnapshot = { at: number; pids: Map<number, Map<number, number>> };

export function cpuSnapshot(pids: number[]): CpuSnapshot {
  const out = new Map<number, Map<number, number>>();
  for (const pid of pids) {
    const t = threadTimes(pid);
    if (t) out.set(pid, t);
  }
  return { at: performance.now(), pids: out };
}

/**
 * CPU seconds the pids used since `before`, thread by thread: a thread (or process) that appeared
 * meanwhile counts in full; one that ended meanwhile counts for nothing (what it used after `before`
 * is lost).
 */
export function cpuSince(before: CpuSnapshot, pids: number[]): number {
  let ns = 0;
  for (const pid of pids) {
    const now = threadTimes(pid);
    if (!now) continue;
    const then = before.pids.get(pid);
    for (const [tid, t] of now) ns += t - (then?.get(tid) ?? 0);
  }
  return ns / 1e9;
}
