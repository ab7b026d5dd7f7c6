/**
 * Helper processes of the bench (WebSocket clients, the tick watcher, the TCP proxy): a Bun script
 * started with one JSON argument, talking back in JSON lines on stdout and taking commands as lines
 * on stdin. Each is stopped at cleanup like any other child, exits when its stdin closes (the bench
 * is gone) and has a deadline of its own, so none can outlive a run.
 */
import type { Subprocess } from "bun";
import { type Child, tail } from "./process.ts";
import { defer, isStopping, log, ROOT, withTimeout } from "./util.ts";

export interface WorkerMessage {
  type: string;
  [key: string]: unknown;
}

/** stdin and stdout piped; stderr goes straight to the log file. */
type PipedProcess = Subprocess<"pipe", "pipe", "inherit">;

/** The parent's side of one helper process. */
export class WorkerProcess {
  readonly child: Child;
  private readonly proc: PipedProcess;
  private readonly queue: WorkerMessage[] = [];
  private readonly waiting = new Set<() => void>();
  private ended = false;

  /** `script` is run with `config` as its one argument (JSON); stderr goes to `logPath`. */
  constructor(
    script: string,
    config: unknown,
    logPath: string,
    readonly name: string,
    /** put before the command: OWN_SESSION for a server that stands beside the panel */
    prefix: string[] = [],
  ) {
    if (isStopping()) throw new Error("the run is ending");
    const proc = Bun.spawn([...prefix, process.execPath, script, JSON.stringify(config)], {
      cwd: ROOT,
      stdin: "pipe",
      stdout: "pipe",
      stderr: Bun.file(logPath),
    }) as unknown as PipedProcess;
    this.proc = proc;
    let stopped: Promise<void> | undefined;
    this.child = {
      proc,
      pid: proc.pid,
      logPath,
      stop: () => {
        stopped ??= this.terminate();
        return stopped;
      },
    };
    defer(`${name} (process ${proc.pid})`, () => this.child.stop());
    void this.pumpStdout();
    void proc.exited.then(() => {
      this.ended = true;
      this.wake();
    });
  }

  /** Waits for the next message of `type`; an `error` message, or the process ending, rejects. */
  async next(type: string, timeoutMs: number): Promise<WorkerMessage> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex((m) => m.type === type || m.type === "error");
      if (i >= 0) {
        const [m] = this.queue.splice(i, 1);
        if (m!.type === "error") throw new Error(`${this.name}: ${String(m!.message)}`);
        return m!;
      }
      if (this.ended) {
        throw new Error(
          `${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}) before "${type}":\n${tail(this.child.logPath)}`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`);
      await withTimeout(
        new Promise<void>((resolve) => this.waiting.add(resolve)),
        left,
        `${this.name}: "${type}"`,
      ).catch(() => {});
    }
  }

  send(command: string): void {
    if (this.ended) return;
    try {
      this.proc.stdin.write(`${command}\n`);
      this.proc.stdin.flush();
    } catch {
      // gone: next() says so
    }
  }

  private wake(): void {
    for (const w of this.waiting) w();
    this.waiting.clear();
  }

  private async pumpStdout(): Promise<void> {
    try {
      for await (const line of lines(this.proc.stdout)) {
        try {
          this.queue.push(JSON.parse(line) as WorkerMessage);
        } catch {
          log(`${this.name}: ${line.slice(0, 200)}`);
        }
        this.wake();
      }
    } catch {
      // the process went away
    }
  }

  /** Closes stdin (the worker exits on that), then SIGTERM, then SIGKILL. */
  private async terminate(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      this.proc.stdin.end();
    } catch {
      // already closed
    }
    try {
      await withTimeout(this.proc.exited, 2_000, `${this.name} to exit`);
      return;
    } catch {
      this.proc.kill("SIGTERM");
    }
    try {
      await withTimeout(this.proc.exited, 3_000, `${this.name} to exit`);
    } catch {
      log(`${this.name} (process ${this.proc.pid}) ignored SIGTERM; killing it`);
      this.proc.kill("SIGKILL");
      await withTimeout(this.proc.exited, 5_000, `${this.name} to die`);
    }
  }
}

// ---- the worker's side ----

/** Writes one message to the parent. */
export function emit(message: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * Runs a worker: `config` is its JSON argument; `onCommand` gets each stdin line. The process exits
 * when stdin closes (the parent is gone or done) and, whatever happens, after `maxMs`.
 */
export function workerMain<C extends { maxMs: number }>(
  onCommand: (command: string, config: C) => void | Promise<void>,
): C {
  const config = JSON.parse(process.argv[2] ?? "{}") as C;
  const deadline = setTimeout(() => {
    process.stderr.write(`worker: deadline of ${config.maxMs} ms reached; exiting\n`);
    process.exit(3);
  }, config.maxMs);
  deadline.unref();
  void (async () => {
    for await (const line of lines(Bun.stdin.stream())) {
      try {
        await onCommand(line, config);
      } catch (err) {
        emit({ type: "error", message: (err as Error).message });
      }
    }
    process.exit(0);
  })();
  return config;
}

/** A byte stream's lines, trimmed, empty ones left out. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of chunks(stream)) {
    pending += decoder.decode(chunk, { stream: true });
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
      if (line) yield line;
    }
  }
}

/** A byte stream's chunks (this project's DOM typings give ReadableStream no async iterator). */
export async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The same clock in every process of the run: ms since the epoch, with sub-ms precision. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}
