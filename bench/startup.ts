import { copyFileSync, mkdirSync, rmSync } from "node:fs";
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
  /** ms from spawn until /healthz says the engine is up (its mirror has listed and inspected everything) */
  engine_up_median_ms: number;
}

export interface StartupResult {
  starts: number;
  /** starts with the executable dropped from the page cache first (panel and baseline alike) */
  cold_starts: number;
  cold_method: string;
  poll_interval_ms: number;
  containers_on_engine: number;
  baseline: StartupMode;
  /** --tls off, fresh empty data dir */
  panel_tls_off: PanelStartupMode;
  /** --tls auto, fresh data dir holding only an existing certificate (none is made) */
  panel_tls_auto: PanelStartupMode;
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
 * noise hits all of them alike.
 */
export async function benchStartup(
  target: Target,
  baselineBinary: string,
  certDir: string,
  starts: number,
  coldStarts: number,
  containersOnEngine: number,
): Promise<StartupResult> {
  const dir = tempDir("startup");
  const base: number[] = [];
  const off: number[] = [];
  const offUp: number[] = [];
  const auto: number[] = [];
  const autoUp: number[] = [];
  for (let i = 0; i < starts; i++) {
    log(`start-up: run ${i + 1}/${starts}`);
    base.push(await timeBaseline(baselineBinary, dir, i));
    const a = await timePanel(target, dir, i, "off", certDir);
    off.push(a.first);
    offUp.push(a.engineUp);
    const b = await timePanel(target, dir, i, "auto", certDir);
    auto.push(b.first);
    autoUp.push(b.engineUp);
  }
  const coldBase: number[] = [];
  const cold: number[] = [];
  const coldUp: number[] = [];
  const panelBinary = target.command[0]!;
  for (let i = 0; i < coldStarts; i++) {
    log(`start-up: cold run ${i + 1}/${coldStarts}`);
    dropFromPageCache(baselineBinary);
    coldBase.push(await timeBaseline(baselineBinary, dir, starts + i));
    if (target.kind === "binary") dropFromPageCache(panelBinary);
    const c = await timePanel(target, dir, starts + i, "auto", certDir);
    cold.push(c.first);
    coldUp.push(c.engineUp);
  }
  const baseline = summary(base);
  const baselineCold = summary(coldBase);
  const panelMode = (first: number[], up: number[], against: StartupMode): PanelStartupMode => {
    const s = summary(first);
    return {
      ...s,
      ratio: round(s.median_ms / against.median_ms),
      engine_up_median_ms: round(median(up), 1),
    };
  };
  return {
    starts,
    cold_starts: coldStarts,
    cold_method: COLD_METHOD,
    poll_interval_ms: POLL_MS,
    containers_on_engine: containersOnEngine,
    baseline,
    panel_tls_off: panelMode(off, offUp, baseline),
    panel_tls_auto: panelMode(auto, autoUp, baseline),
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

async function timeBaseline(binary: string, dir: string, i: number): Promise<number> {
  const port = freePort();
  const t0 = performance.now();
  const child = start([binary, String(port)], join(dir, `baseline-${i}.log`));
  try {
    const { at } = await firstAnswer(child, `http://127.0.0.1:${port}/healthz`, 10_000, POLL_MS);
    return at - t0;
  } finally {
    await child.stop();
  }
}

async function timePanel(
  target: Target,
  dir: string,
  i: number,
  tls: "off" | "auto",
  certDir: string,
): Promise<{ first: number; engineUp: number }> {
  const dataDir = join(dir, `data-${tls}-${i}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (tls === "auto") {
    for (const f of ["tls-cert.pem", "tls-key.pem"]) copyFileSync(join(certDir, f), join(dataDir, f));
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
    if (upAt === undefined) throw new Error(`engine not up in /healthz after 30 s (tls ${tls})`);
    return { first: first.at - t0, engineUp: upAt - t0 };
  } finally {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
