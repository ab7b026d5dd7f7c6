import { chmodSync, copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
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
export function start(command: string[], logPath: string): Child {
  if (isStopping()) throw new Error("the run is ending");
  const out = Bun.file(logPath);
  const proc = Bun.spawn(command, { cwd: ROOT, stdin: "ignore", stdout: out, stderr: out });
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

/** VmRSS and VmHWM of a process, in KiB. */
export function memoryOf(pid: number): { rssKiB: number; hwmKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}
