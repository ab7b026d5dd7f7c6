/**
 * How the cgroup reader's tick holds the panel's main thread up, by reader, at 100 and 1,000
 * containers: `bun bench/stats-reader.ts [--quick]` (table on stdout, then JSON; progress on stderr).
 *
 * Real containers (50 `sleep`s on a private dockerd, tests/helpers/second-engine.ts) give real cgroup
 * and /proc files. 100 and 1,000 are those 50 seen 2 and 20 times: a directory of symbolic links
 * stands for the cgroup root and for /proc (`<root>/<controller>/docker/<alias id>` → the container's
 * cgroup, `<proc>/<alias pid>` → its /proc/<pid>), so each tick reads 1,000 containers' worth of
 * kernel-generated files without 1,000 containers on a 2-core machine.
 *
 * Each reader runs in a process of its own (this file with `--child`), in rounds that take turns, so
 * load on the machine falls on all of them alike. In the child, a timer asks to run every ms; its
 * lateness while a tick reads is how long the main thread was held (requests and frames wait as long).
 * Reported per reader: p50/p90/max over ticks of that tick's worst lateness, the tick's duration, and
 * the child's VmRSS after the ticks minus before the reader was made (what the reader itself costs).
 * `idle` reads nothing: the lateness the machine's load alone gives (the baseline).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { CgroupSource } from "../src/stats/cgroup-source.ts";
import type { StatsSource, StatsTarget } from "../src/stats/sample.ts";
import { SecondEngine } from "../tests/helpers/second-engine.ts";
import { IMAGE, LABEL, LABEL_KEY, mapLimit, NAME_PREFIX, SLEEP_CMD } from "./lib/engine.ts";
import { table } from "./lib/report.ts";
import { defer, log, percentile, RUN_ID, round, runCleanups, tempDir } from "./lib/util.ts";

const READERS = ["idle", "once", "sliced"] as const;
type Reader = (typeof READERS)[number];

interface ChildConfig {
  reader: Reader;
  targets: StatsTarget[];
  cgroupRoot: string;
  procRoot: string;
  ticks: number;
  gapMs: number;
}

interface ChildResult {
  worst_late_ms: number[];
  tick_ms: number[];
  rss_before_kib: number;
  rss_after_kib: number;
  read: number;
}

function rssKiB(): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
}

/** One reader in this process: `ticks` reads `gapMs` apart, with the lateness timer running. */
async function child(config: ChildConfig): Promise<ChildResult> {
  Bun.gc(true);
  const rss_before_kib = rssKiB();
  // Every file each tick: these `sleep`s would otherwise be at rest, one read each (the most a tick reads).
  const options = { cgroupRoot: config.cgroupRoot, procRoot: config.procRoot, everyTick: true };
  const source: StatsSource | undefined = config.reader === "idle" ? undefined : new CgroupSource(options);
  const read = (targets: StatsTarget[]) =>
    config.reader === "once"
      ? Promise.resolve((source as CgroupSource).readNow(targets))
      : (source?.read(targets) ?? Promise.resolve(new Map()));
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  const result: ChildResult = { worst_late_ms: [], tick_ms: [], rss_before_kib, rss_after_kib: 0, read: 0 };
  for (let i = 0; i < config.ticks; i++) {
    await Bun.sleep(config.gapMs);
    last = performance.now();
    worst = 0;
    const t0 = performance.now();
    const samples = await read(config.targets);
    const t1 = performance.now();
    // The timer's lateness shows once it runs again after the read.
    await Bun.sleep(3);
    result.tick_ms.push(t1 - t0);
    result.worst_late_ms.push(worst);
    result.read = i === 0 ? samples.size : Math.min(result.read, samples.size);
  }
  clearInterval(timer);
  result.rss_after_kib = rssKiB();
  source?.close();
  return result;
}

/** `<root>` and `<proc>` trees of symbolic links where `copies` aliases of each container live. */
function aliasTrees(dir: string, containers: { id: string; pid: number }[], copies: number) {
  const root = join(dir, `cgroup-${copies}`);
  const proc = join(dir, `proc-${copies}`);
  mkdirSync(proc, { recursive: true });
  symlinkSync("/proc/stat", join(proc, "stat"));
  symlinkSync("/proc/meminfo", join(proc, "meminfo"));
  const v2 = (() => {
    try {
      readFileSync("/sys/fs/cgroup/cgroup.controllers");
      return true;
    } catch {
      return false;
    }
  })();
  mkdirSync(root, { recursive: true });
  if (v2) symlinkSync("/sys/fs/cgroup/cgroup.controllers", join(root, "cgroup.controllers"));
  const targets: StatsTarget[] = [];
  let n = 0;
  for (let copy = 0; copy < copies; copy++) {
    for (const c of containers) {
      const id = `${(n + 1).toString(16).padStart(8, "0")}${c.id.slice(8)}`;
      const pid = 10_000_000 + n++;
      symlinkSync(`/proc/${c.pid}`, join(proc, String(pid)));
      for (const line of readFileSync(`/proc/${c.pid}/cgroup`, "utf8").trim().split("\n")) {
        const [, controllers, path] = line.split(":") as [string, string, string];
        if (!path.includes(c.id)) continue;
        const mount = v2 ? "" : controllers;
        if (!v2 && !["memory", "pids", "blkio"].includes(mount) && !mount.split(",").includes("cpuacct"))
          continue;
        const real = realpathSync(join("/sys/fs/cgroup", mount, path));
        mkdirSync(join(root, mount, "docker"), { recursive: true });
        symlinkSync(real, join(root, mount, "docker", id));
      }
      targets.push({ id, pid });
    }
  }
  return { root, proc, targets };
}

interface Row {
  reader: Reader;
  containers: number;
  late_p50_ms: number;
  late_p90_ms: number;
  late_p99_ms: number;
  late_max_ms: number;
  tick_p50_ms: number;
  tick_max_ms: number;
  rss_growth_kib: number;
  read: number;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const base = 50;
  const sizes = [2, 20];
  const rounds = quick ? 3 : 5;
  const ticks = quick ? 20 : 40;
  const dir = tempDir("stats-reader");
  defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  log("starting a private engine");
  const engine = await SecondEngine.start();
  defer("private engine", () => engine.stop(), 300_000);
  engine.loadImage(IMAGE);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://localhost${path}`, {
      method,
      unix: engine.socketPath,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`private engine ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  };
  log(`starting ${base} containers`);
  const containers: { id: string; pid: number }[] = [];
  await mapLimit(
    Array.from({ length: base }, (_, i) => i),
    5,
    async (i) => {
      const made = (await call("POST", `/containers/create?name=${NAME_PREFIX}reader-${i}`, {
        Image: IMAGE,
        Cmd: SLEEP_CMD,
        Labels: { [LABEL_KEY]: RUN_ID },
        HostConfig: { NetworkMode: "none" },
      })) as { Id: string };
      await call("POST", `/containers/${made.Id}/start`);
      const state = (await call("GET", `/containers/${made.Id}/json`)) as { State: { Pid: number } };
      containers.push({ id: made.Id, pid: state.State.Pid });
    },
  );
  const trees = sizes.map((copies) => aliasTrees(dir, containers, copies));
  const runs = new Map<string, ChildResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const tree of trees) {
      for (const reader of READERS) {
        const config: ChildConfig = {
          reader,
          targets: tree.targets,
          cgroupRoot: tree.root,
          procRoot: tree.proc,
          ticks,
          gapMs: 200,
        };
        const proc = Bun.spawn([process.execPath, import.meta.path, "--child", JSON.stringify(config)], {
          stdout: "pipe",
          stderr: "inherit",
        });
        const out = await new Response(proc.stdout).text();
        if ((await proc.exited) !== 0)
          throw new Error(`${reader} at ${tree.targets.length}: the child failed`);
        const key = `${reader} ${tree.targets.length}`;
        const got = (JSON.parse(out) as ChildResult).read;
        // A tick that read fewer than every container is said, not hidden: the "read" column is the fewest.
        if (reader !== "idle" && got !== tree.targets.length)
          log(
            `${key}: a tick read ${got} of ${tree.targets.length} containers ` +
              `(${containers.filter((c) => existsSync(`/proc/${c.pid}`)).length} of ${base} processes alive)`,
          );
        runs.set(key, [...(runs.get(key) ?? []), JSON.parse(out) as ChildResult]);
        log(`round ${round + 1}/${rounds}: ${key} done`);
      }
    }
  }
  const rows: Row[] = [];
  for (const [key, results] of runs) {
    const [reader, n] = key.split(" ") as [Reader, string];
    const late = results.flatMap((r) => r.worst_late_ms);
    const tick = results.flatMap((r) => r.tick_ms);
    const growth = results.map((r) => r.rss_after_kib - r.rss_before_kib).sort((a, b) => a - b);
    rows.push({
      reader,
      containers: Number(n),
      late_p50_ms: round(percentile(late, 50), 1),
      late_p90_ms: round(percentile(late, 90), 1),
      late_p99_ms: round(percentile(late, 99), 1),
      late_max_ms: round(Math.max(...late), 1),
      tick_p50_ms: round(percentile(tick, 50), 1),
      tick_max_ms: round(Math.max(...tick), 1),
      rss_growth_kib: growth[Math.floor(growth.length / 2)]!,
      read: Math.min(...results.map((r) => r.read)),
    });
  }
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  process.stdout.write(
    `\nStats reader: main-thread lateness while a tick reads (${rounds} rounds × ${ticks} ticks each; load ${load})\n\n`,
  );
  const idle = (n: number) => rows.find((r) => r.reader === "idle" && r.containers === n)!;
  process.stdout.write(
    `${table(
      rows.map((r) => ({
        benchmark: `reader ${r.reader}`,
        metric: `${r.containers} containers (${r.read} read): lateness p50/p90/max, tick p50/max, RSS`,
        panel: `${r.late_p50_ms}/${r.late_p90_ms}/${r.late_max_ms} ms, ${r.tick_p50_ms}/${r.tick_max_ms} ms, +${r.rss_growth_kib} KiB`,
        baseline: `idle ${idle(r.containers).late_p90_ms} ms p90`,
        ratio: `${round(r.late_p90_ms / Math.max(0.1, idle(r.containers).late_p90_ms), 1)}x`,
      })),
    )}\n\n${JSON.stringify({ bench: "stats-reader", label: LABEL, load, rounds, ticks, rows }, null, 2)}\n`,
  );
}

if (process.argv[2] === "--child") {
  const result = await child(JSON.parse(process.argv[3]!) as ChildConfig);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
} else {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      runCleanups().finally(() => process.exit(1));
    });
  }
  try {
    await main();
  } finally {
    await runCleanups();
  }
}
