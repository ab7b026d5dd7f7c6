/**
 * When did the panel take its sample? Its frames carry no time stamp, but with the cgroup source each
 * tick starts with a burst of small file reads (several per container), which shows in the `syscr`
 * count of /proc/<panel>/io. This process (`bun tick-watch.ts CONFIG`) polls that count about every
 * millisecond and records each burst: `from` (the last poll that saw no read: the burst began
 * after it), `seen` (the first poll that saw it) and `end`. Bursts closer than `mergeMs` are one.
 * Between ticks the panel reads almost nothing (a WebSocket message, an engine event), far below
 * `minReads`.
 *
 * Commands on stdin: `stop` writes the bursts to `out` and answers `done`.
 */
import { readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import { log, percentile, round } from "./util.ts";
import { clock, emit, WorkerProcess, workerMain } from "./worker.ts";

export interface TickWatchConfig {
  pid: number;
  out: string;
  pollMs: number;
  minReads: number;
  mergeMs: number;
  maxMs: number;
}

export interface Burst {
  from: number;
  seen: number;
  end: number;
  reads: number;
}

export interface TickWatch {
  bursts: Burst[];
  polls: number;
  /** Time between polls, ms: how precisely a burst's start is known. */
  gap_p50_ms: number;
  gap_p99_ms: number;
  gap_max_ms: number;
}

function syscr(pid: number): number {
  const m = /^syscr:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  if (!m) throw new Error(`no syscr in /proc/${pid}/io`);
  return Number(m[1]);
}

async function watch(config: TickWatchConfig): Promise<void> {
  let stopped = false;
  const bursts: Burst[] = [];
  const gaps: number[] = [];
  let open: Burst | undefined;
  let prevT = clock();
  let prev = syscr(config.pid);
  emit({ type: "ready" });
  const close = () => {
    if (!open) return;
    const last = bursts.at(-1);
    if (last && open.from - last.end <= config.mergeMs) {
      last.end = open.end;
      last.reads += open.reads;
    } else bursts.push(open);
    open = undefined;
  };
  workerCommands.stop = async () => {
    stopped = true;
    close();
    const result: TickWatch = {
      bursts: bursts.filter((b) => b.reads >= config.minReads),
      polls: gaps.length,
      gap_p50_ms: round(percentile(gaps, 50), 3),
      gap_p99_ms: round(percentile(gaps, 99), 3),
      gap_max_ms: round(Math.max(0, ...gaps), 3),
    };
    await Bun.write(config.out, JSON.stringify(result));
    emit({ type: "done" });
    process.exit(0);
  };
  while (!stopped) {
    await Bun.sleep(config.pollMs);
    const t = clock();
    let v: number;
    try {
      v = syscr(config.pid);
    } catch {
      break; // the panel is gone
    }
    if (gaps.length < 2_000_000) gaps.push(t - prevT);
    if (v > prev) {
      if (open) {
        open.end = t;
        open.reads += v - prev;
      } else open = { from: prevT, seen: t, end: t, reads: v - prev };
    } else close();
    prevT = t;
    prev = v;
  }
}

const workerCommands: { stop?: () => Promise<void> } = {};

if (import.meta.main) {
  const config = workerMain<TickWatchConfig>(async (command) => {
    if (command === "stop") await workerCommands.stop?.();
  });
  watch(config).catch((err: Error) => emit({ type: "error", message: err.message }));
}

// ---- the bench's side ----

export interface TickWatcher {
  pid: number;
  stop(): Promise<TickWatch>;
}

/**
 * Watches `panelPid`'s reads. `minReads`: the fewest reads that make a tick (a tick reads several
 * files per container). The watcher asks for a higher scheduling priority when it may (root), so
 * that its polls keep time while clients load both CPUs.
 */
export async function startTickWatch(
  panelPid: number,
  dir: string,
  minReads: number,
  maxMs: number,
): Promise<TickWatcher> {
  const out = join(dir, "ticks.json");
  const config: TickWatchConfig = { pid: panelPid, out, pollMs: 1, minReads, mergeMs: 20, maxMs };
  const worker = new WorkerProcess(import.meta.path, config, join(dir, "ticks.log"), "tick watcher");
  try {
    setPriority(worker.child.pid, -10);
  } catch {
    log("tick watcher: could not raise its priority (not root?); its timing may be coarser under load");
  }
  await worker.next("ready", 20_000);
  return {
    pid: worker.child.pid,
    async stop() {
      worker.send("stop");
      await worker.next("done", 30_000);
      await worker.child.stop();
      return JSON.parse(readFileSync(out, "utf8")) as TickWatch;
    },
  };
}
