import { copyFileSync, cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { engineUp, serveCommand } from "./lib/panel.ts";
import { firstAnswer, INSECURE_TLS, start, type Target } from "./lib/process.ts";
import { freePort, log, median, percentile, round, sleep, tempDir } from "./lib/util.ts";

export interface StartupMode {
  /** ms from spawn to the first 200 from /healthz, one per start */
  samples_ms: number[];
  median_ms: number;
  p90_ms: number;
  min_ms: number;
  max_ms: number;
}

export interface PanelStartupMode extends StartupMode {
  /** panel median / baseline median */
  ratio: number;
  /** panel median / the TLS baseline's median (--tls auto only) */
  ratio_to_tls_baseline?: number;
  /** ms from spawn until /healthz says the engine is up (its mirror has listed and inspected everything) */
  engine_up_median_ms: number;
  /** starts whose engine was not up within 30 s (a loaded shared engine): left out of the median */
  engine_up_missed: number;
}

export interface StartupResult {
  starts: number;
  /** starts with the executable dropped from the page cache first (panel and baseline alike) */
  cold_starts: number;
  cold_method: string;
  poll_interval_ms: number;
  containers_on_engine: number;
  baseline: StartupMode;
  /** the same minimal server serving HTTPS with the panel's certificate */
  baseline_tls: StartupMode;
  /** --tls off, fresh empty data dir */
  panel_tls_off: PanelStartupMode;
  /** --tls off, a copy of a data dir that has seen a start (database, admin, token, certificate) */
  panel_tls_off_used: PanelStartupMode;
  /** --tls auto, fresh data dir holding only an existing certificate (none is made) */
  panel_tls_auto: PanelStartupMode & { ratio_to_tls_baseline: number };
  /** the baseline with its executable out of the page cache */
  baseline_cold: StartupMode;
  /** --tls auto as above, with the panel's executable out of the page cache; ratio to baseline_cold */
  panel_cold: PanelStartupMode;
}

/**
 * Drops a file's pages from the page cache (posix_fadvise DONTNEED, through GNU dd): the next start
 * reads the executable from disk, as the first start after a boot or an upgrade does.
 */
export function dropFromPageCache(file: string): void {
  const res = Bun.spawnSync(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"], {
    stderr: "pipe",
  });
  if (res.exitCode !== 0) throw new Error(`dd iflag=nocache ${file}: ${res.stderr.toString().trim()}`);
}
const COLD_METHOD = "dd iflag=nocache count=0 (posix_fadvise POSIX_FADV_DONTNEED) on the executable";

const POLL_MS = 1;

/**
 * (c) Time from spawn to the first /healthz answer, `starts` times per kind, interleaved so machine
 * noise hits all of them alike. `seedDir` is a data dir that has seen one start (it holds the
 * certificate the --tls auto starts and the TLS baseline use).
 */
export async function benchStartup(
  target: Target,
  baselineBinary: string,
  seedDir: string,
  starts: number,
  coldStarts: number,
  containersOnEngine: number,
): Promise<StartupResult> {
  const dir = tempDir("startup");
  const base: number[] = [];
  const baseTls: number[] = [];
  const off: number[] = [];
  const offUp: (number | undefined)[] = [];
  const used: number[] = [];
  const usedUp: (number | undefined)[] = [];
  const auto: number[] = [];
  const autoUp: (number | undefined)[] = [];
  for (let i = 0; i < starts; i++) {
    log(`start-up: run ${i + 1}/${starts}`);
    base.push(await timeBaseline(baselineBinary, dir, i));
    const a = await timePanel(target, dir, i, "off", seedDir, "empty");
    off.push(a.first);
    offUp.push(a.engineUp);
    const u = await timePanel(target, dir, i, "off", seedDir, "used");
    used.push(u.first);
    usedUp.push(u.engineUp);
    baseTls.push(await timeBaseline(baselineBinary, dir, i, seedDir));
    const b = await timePanel(target, dir, i, "auto", seedDir, "certificate");
    auto.push(b.first);
    autoUp.push(b.engineUp);
  }
  const coldBase: number[] = [];
  const cold: number[] = [];
  const coldUp: (number | undefined)[] = [];
  const panelBinary = target.command[0]!;
  for (let i = 0; i < coldStarts; i++) {
    log(`start-up: cold run ${i + 1}/${coldStarts}`);
    dropFromPageCache(baselineBinary);
    coldBase.push(await timeBaseline(baselineBinary, dir, starts + i));
    if (target.kind === "binary") dropFromPageCache(panelBinary);
    const c = await timePanel(target, dir, starts + i, "auto", seedDir, "certificate");
    cold.push(c.first);
    coldUp.push(c.engineUp);
  }
  const baseline = summary(base);
  const baselineTls = summary(baseTls);
  const baselineCold = summary(coldBase);
  const panelMode = (first: number[], up: (number | undefined)[], against: StartupMode): PanelStartupMode => {
    const s = summary(first);
    return {
      ...s,
      ratio: round(s.median_ms / against.median_ms),
      engine_up_median_ms: round(median(up.filter((u) => u !== undefined)), 1),
      engine_up_missed: up.filter((u) => u === undefined).length,
    };
  };
  return {
    starts,
    cold_starts: coldStarts,
    cold_method: COLD_METHOD,
    poll_interval_ms: POLL_MS,
    containers_on_engine: containersOnEngine,
    baseline,
    baseline_tls: baselineTls,
    panel_tls_off: panelMode(off, offUp, baseline),
    panel_tls_off_used: panelMode(used, usedUp, baseline),
    panel_tls_auto: {
      ...panelMode(auto, autoUp, baseline),
      ratio_to_tls_baseline: round(median(auto) / baselineTls.median_ms),
    },
    baseline_cold: baselineCold,
    panel_cold: panelMode(cold, coldUp, baselineCold),
  };
}

function summary(samples: number[]): StartupMode {
  return {
    samples_ms: samples.map((s) => round(s, 1)),
    median_ms: round(median(samples), 1),
    p90_ms: round(percentile(samples, 90), 1),
    min_ms: round(Math.min(...samples), 1),
    max_ms: round(Math.max(...samples), 1),
  };
}

/** With `certDir`, the minimal server serves HTTPS with that directory's certificate. */
async function timeBaseline(binary: string, dir: string, i: number, certDir?: string): Promise<number> {
  const port = freePort();
  const t0 = performance.now();
  const child = start(
    [binary, String(port), ...(certDir ? [certDir] : [])],
    join(dir, `baseline-${certDir ? "tls-" : ""}${i}.log`),
  );
  try {
    const url = `${certDir ? "https" : "http"}://127.0.0.1:${port}/healthz`;
    const { at } = await firstAnswer(child, url, 10_000, POLL_MS);
    return at - t0;
  } finally {
    await child.stop();
  }
}

/** The data dir a start gets: empty, the seed's certificate only, or a copy of the whole seed. */
type DataDir = "empty" | "certificate" | "used";

async function timePanel(
  target: Target,
  dir: string,
  i: number,
  tls: "off" | "auto",
  seedDir: string,
  data: DataDir,
): Promise<{ first: number; engineUp: number | undefined }> {
  const dataDir = join(dir, `data-${tls}-${data}-${i}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (data === "certificate") {
    for (const f of ["tls-cert.pem", "tls-key.pem"]) copyFileSync(join(seedDir, f), join(dataDir, f));
  } else if (data === "used") {
    cpSync(seedDir, dataDir, { recursive: true });
  }
  const port = freePort();
  const url = `${tls === "off" ? "http" : "https"}://127.0.0.1:${port}/healthz`;
  // Let the file system settle so the copy above is not part of the measurement.
  await sleep(20);
  const t0 = performance.now();
  const child = start(serveCommand(target, port, dataDir, tls), join(dir, `panel-${tls}-${i}.log`));
  try {
    const first = await firstAnswer(child, url, 10_000, POLL_MS);
    let upAt = engineUp(first.body) ? first.at : undefined;
    const deadline = performance.now() + 30_000;
    while (upAt === undefined && performance.now() < deadline) {
      await sleep(5);
      const res = await fetch(url, { ...INSECURE_TLS, signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (engineUp(body)) upAt = performance.now();
    }
    if (upAt === undefined)
      log(`start-up: engine not up in /healthz after 30 s (tls ${tls}, ${data} data dir)`);
    return { first: first.at - t0, engineUp: upAt === undefined ? undefined : upAt - t0 };
  } finally {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
