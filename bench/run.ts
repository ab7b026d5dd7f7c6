/**
 * GhostPanel benchmarks (issue #2): `npm run bench` (scripts/bench.sh) or `bun bench/run.ts [--quick]`.
 *
 *   (a) container list: the panel's GET /api/v1/envs/local/containers vs the engine's own
 *       GET /containers/json?all=1, with 100 containers on the engine: p50/p99 latency and req/s
 *   (b) idle RSS of the panel mirroring those containers vs a minimal compiled Bun server
 *   (c) start-up time to the first /healthz answer vs the same minimal server
 *
 * Every number is also given as a ratio against a baseline measured in the same run, because these
 * machines are noisy. Budgets are printed next to the numbers and never fail the run; a benchmark
 * that cannot run does (exit 1). Progress goes to stderr; stdout carries the table, then one JSON
 * document (also written to bench/results.json).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { benchContainerList, type ListResult, type ListSettings } from "./container-list.ts";
import { benchIdleRss, type RssResult, type Seed } from "./idle-rss.ts";
import {
  engineVersion,
  IMAGE,
  LABEL,
  NETWORK_MODE,
  removeOurContainers,
  SOCKET,
  startContainers,
  sweepLeftovers,
} from "./lib/engine.ts";
import { startPanel } from "./lib/panel.ts";
import { panelTarget, type Target } from "./lib/process.ts";
import { type Budget, budget, type Row, table } from "./lib/report.ts";
import { defer, log, ROOT, RUN_ID, runCleanups, sweepTempDirs, tempDir } from "./lib/util.ts";
import { benchStartup, type StartupResult } from "./startup.ts";

const QUICK = process.argv.includes("--quick");
const CONTAINERS = 100;
const IDLE_MS = QUICK ? 2_000 : 5_000;
const STARTS = QUICK ? 3 : 10;
const LIST: ListSettings = {
  containers: CONTAINERS,
  warmup: QUICK ? 20 : 50,
  sequential: QUICK ? 100 : 500,
  concurrentLoops: 8,
  concurrentRequests: QUICK ? 200 : 1_000,
  rounds: QUICK ? 2 : 4,
};
const OVERALL_TIMEOUT_MS = 20 * 60_000;

const BUDGETS = { listSpeedup: 5, idleRssMiB: 48, startupMs: 150 };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

async function attempt<T>(name: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  log(`${name}: starting`);
  try {
    const value = await fn();
    log(`${name}: done`);
    return { ok: true, value };
  } catch (err) {
    const error = (err as Error).stack ?? String(err);
    log(`${name}: FAILED: ${error}`);
    return { ok: false, error: (err as Error).message };
  }
}

function spawnText(command: string[], cwd: string, timeoutMs: number): string {
  const res = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  if (res.exitCode !== 0) {
    throw new Error(`${command.join(" ")} failed (${res.exitCode}): ${res.stderr.toString().trim()}`);
  }
  return res.stdout.toString().trim();
}

/** Compiles bench/baseline/minimal-server.ts the way build.ts compiles the panel. */
function compileBaseline(): string {
  const dir = tempDir("baseline");
  const out = join(dir, "minimal-server");
  spawnText(
    [
      process.execPath,
      "build",
      "--compile",
      join(import.meta.dir, "baseline", "minimal-server.ts"),
      "--outfile",
      out,
    ],
    dir,
    180_000,
  );
  return out;
}

/** How the seed's certificate came to be; a failing `--tls auto` first start is reported, not fatal. */
let seedInfo: { certificate: string; panel_auto_tls_error?: string } = {
  certificate: "made by the panel (--tls auto)",
};

/**
 * A data dir that has seen one start: certificate made, admin created, an API token issued. If the
 * panel cannot make its certificate, openssl makes one, so the other benchmarks still run.
 */
async function makeSeed(target: Target): Promise<Seed> {
  try {
    const dir = tempDir("seed");
    const dataDir = join(dir, "data");
    const panel = await startPanel({ target, dataDir, tls: "auto", workDir: dir });
    await panel.child.stop();
    return { dataDir, token: panel.token };
  } catch (err) {
    const message = (err as Error).message;
    const error = message.split("\n").find((l) => /^\s*(error|\w*Error):/.test(l)) ?? message.split("\n")[0]!;
    seedInfo = { certificate: "made by openssl", panel_auto_tls_error: error.trim() };
    log(
      `the panel's first start with --tls auto failed (${error.trim()}); making the certificate with openssl`,
    );
  }
  const dir = tempDir("seed");
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  spawnText(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "30",
      "-subj",
      "/CN=ghostpanel-bench",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      join(dataDir, "tls-key.pem"),
      "-out",
      join(dataDir, "tls-cert.pem"),
    ],
    dir,
    30_000,
  );
  const panel = await startPanel({ target, dataDir, tls: "auto", workDir: dir });
  await panel.child.stop();
  return { dataDir, token: panel.token };
}

async function main(): Promise<number> {
  const started = new Date();
  const target = panelTarget(tempDir("target"));
  if (target.kind === "source") {
    log("WARNING: dist/ghostpanel does not exist: measuring the panel run from source (npm run build first)");
  }
  const sweptContainers = await sweepLeftovers();
  const sweptDirs = sweepTempDirs();
  if (sweptContainers || sweptDirs) {
    log(`removed leftovers of earlier runs: ${sweptContainers} containers, ${sweptDirs} temp dirs`);
  }
  const engine = await engineVersion();
  const version = spawnText([...target.command, "--version"], ROOT, 30_000);

  log("compiling the baseline server");
  const baseline = compileBaseline();

  log(`starting ${CONTAINERS} containers (${IMAGE})`);
  // Removal waits for the creation to settle, so a signal mid-creation leaves nothing behind.
  let creating: Promise<unknown> = Promise.resolve();
  defer("bench containers", async () => {
    await creating.catch(() => {});
    const n = await removeOurContainers();
    log(`removed ${n} bench containers`);
  });
  const t0 = performance.now();
  creating = startContainers(CONTAINERS);
  await creating;
  const startSeconds = (performance.now() - t0) / 1000;
  log(`containers up in ${startSeconds.toFixed(1)} s`);

  const seed = await attempt("seed data dir", () => makeSeed(target));
  const notSeeded = <T>(): Outcome<T> => ({ ok: false, error: "no seed data dir" });

  const list = await attempt("container list", () => benchContainerList(target, LIST));
  const rss = seed.ok
    ? await attempt("idle RSS", () => benchIdleRss(target, baseline, seed.value, CONTAINERS, IDLE_MS))
    : notSeeded<RssResult>();
  const startup = seed.ok
    ? await attempt("start-up", () => benchStartup(target, baseline, seed.value.dataDir, STARTS, CONTAINERS))
    : notSeeded<StartupResult>();

  const { rows, budgets } = summarise(list, rss, startup);
  const errors = [
    ...(seed.ok ? [] : [{ benchmark: "seed", error: seed.error }]),
    ...[
      ["container_list", list],
      ["idle_rss", rss],
      ["startup", startup],
    ].flatMap(([name, o]) =>
      (o as Outcome<unknown>).ok
        ? []
        : [{ benchmark: name as string, error: (o as { error: string }).error }],
    ),
  ];
  const cpu = cpus();
  const doc = {
    bench: "ghostpanel",
    schema: 1,
    date: started.toISOString(),
    duration_s: Math.round((Date.now() - started.getTime()) / 1000),
    quick: QUICK,
    target: { kind: target.kind, path: target.path, version, bytes: target.bytes, built: target.built },
    machine: {
      cpus: cpu.length,
      cpu_model: cpu[0]?.model ?? "?",
      kernel: release(),
      bun: Bun.version,
      engine: { socket: SOCKET, version: engine.version, api: engine.api },
    },
    seed: seedInfo,
    run: {
      id: RUN_ID,
      label: LABEL,
      containers: CONTAINERS,
      network_mode: NETWORK_MODE,
      containers_start_s: Number(startSeconds.toFixed(1)),
    },
    results: {
      container_list: list.ok ? list.value : { error: list.error },
      idle_rss: rss.ok ? rss.value : { error: rss.error },
      startup: startup.ok ? startup.value : { error: startup.error },
    },
    budgets,
    errors,
  };
  const json = JSON.stringify(doc, null, 2);
  writeResults(json);

  const note =
    target.kind === "source" ? "  (measured: the panel run FROM SOURCE; dist/ghostpanel is missing)\n" : "";
  process.stdout.write(
    `\nGhostPanel benchmarks — ${target.path} ${version}, ${cpu.length} CPUs, ${CONTAINERS} containers on the engine\n${note}\n`,
  );
  process.stdout.write(`${table(rows)}\n\n`);
  if (seedInfo.panel_auto_tls_error) {
    process.stdout.write(
      `NOTE: the panel's first start with --tls auto failed (${seedInfo.panel_auto_tls_error}); the bench made its certificate with openssl.\n\n`,
    );
  }
  for (const e of errors) process.stdout.write(`ERROR in ${e.benchmark}: ${e.error}\n`);
  process.stdout.write(`${json}\n`);
  return errors.length ? 1 : 0;
}

/**
 * bench/results.json is gitignored, but `biome check .` does not read .gitignore: written the way
 * biome formats JSON, so `npm run lint` stays clean after a bench run.
 */
function writeResults(json: string): void {
  const path = join(import.meta.dir, "results.json");
  writeFileSync(path, `${json}\n`);
  const res = Bun.spawnSync([join(ROOT, "node_modules", ".bin", "biome"), "format", "--write", path], {
    cwd: ROOT,
    stdout: "ignore",
    stderr: "pipe",
    timeout: 30_000,
  });
  if (res.exitCode !== 0)
    log(`biome could not format ${path}: ${res.stderr.toString().trim().slice(0, 200)}`);
}

function summarise(
  list: Outcome<ListResult>,
  rss: Outcome<RssResult>,
  startup: Outcome<StartupResult>,
): { rows: Row[]; budgets: Budget[] } {
  const rows: Row[] = [];
  const budgets: Budget[] = [];
  const x = (n: number) => `${n.toFixed(2)}x`;
  const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
  const failed = (benchmark: string, error: string) =>
    rows.push({
      benchmark,
      metric: "FAILED",
      panel: error.split("\n")[0]!.slice(0, 60),
      baseline: "",
      ratio: "",
    });

  if (list.ok) {
    const { engine, panel, ratios } = list.value;
    const add = (metric: string, p: string, e: string, ratio: number) => {
      const b = budget(
        "container list",
        `${metric} speed-up vs engine`,
        ratio,
        "x",
        "min",
        BUDGETS.listSpeedup,
      );
      budgets.push(b);
      rows.push({ benchmark: "container list", metric, panel: p, baseline: e, ratio: x(ratio), budget: b });
    };
    add("p50 latency", ms(panel.p50_ms), `${ms(engine.p50_ms)} (engine)`, ratios.p50);
    add("p99 latency", ms(panel.p99_ms), `${ms(engine.p99_ms)} (engine)`, ratios.p99);
    add(
      `req/s (${list.value.settings.concurrentLoops} loops)`,
      `${panel.requests_per_s.toFixed(0)}/s`,
      `${engine.requests_per_s.toFixed(0)}/s (engine)`,
      ratios.requests_per_s,
    );
    rows.push({
      benchmark: "container list",
      metric: "p50 of /healthz (floor)",
      panel: ms(list.value.panel_healthz_p50_ms),
      baseline: "",
      ratio: "",
    });
  } else failed("container list", list.error);

  if (rss.ok) {
    const r = rss.value;
    const b = budget("idle RSS", "VmRSS", r.panel_rss_mib, "MiB", "max", BUDGETS.idleRssMiB);
    budgets.push(b);
    rows.push({
      benchmark: "idle RSS",
      metric: `VmRSS, ${r.idle_seconds} s idle`,
      panel: `${r.panel_rss_mib.toFixed(1)} MiB`,
      baseline: `${r.baseline_rss_mib.toFixed(1)} MiB (min. server)`,
      ratio: x(r.ratio),
      budget: b,
    });
    rows.push({
      benchmark: "idle RSS",
      metric: "VmRSS after 1 login",
      panel: `${r.panel_rss_after_login_mib.toFixed(1)} MiB`,
      baseline: "",
      ratio: x(r.panel_rss_after_login_mib / r.baseline_rss_mib),
    });
  } else failed("idle RSS", rss.error);

  if (startup.ok) {
    const s = startup.value;
    for (const [label, m] of [
      ["tls off", s.panel_tls_off],
      ["tls auto, cert kept", s.panel_tls_auto],
    ] as const) {
      const b = budget(
        "start-up",
        `first /healthz (${label})`,
        m.median_ms,
        "ms",
        "below",
        BUDGETS.startupMs,
      );
      budgets.push(b);
      rows.push({
        benchmark: "start-up",
        metric: `first /healthz, ${label}`,
        panel: ms(m.median_ms),
        baseline: `${ms(s.baseline.median_ms)} (min. server)`,
        ratio: x(m.ratio),
        budget: b,
      });
      rows.push({
        benchmark: "start-up",
        metric: `engine up in /healthz, ${label}`,
        panel: ms(m.engine_up_median_ms),
        baseline: "",
        ratio: "",
      });
    }
  } else failed("start-up", startup.error);
  return { rows, budgets };
}

let exitCode = 1;
const watchdog = setTimeout(() => {
  log(`overall timeout (${OVERALL_TIMEOUT_MS / 60_000} min): cleaning up`);
  void runCleanups().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}
try {
  exitCode = await main();
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await runCleanups();
  clearTimeout(watchdog);
}
process.exit(exitCode);
