import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { engineUp, serveCommand } from "./lib/panel.ts";
import { firstAnswer, INSECURE_TLS, start, type Target } from "./lib/process.ts";
import { freePort, log, median, round, sleep, tempDir } from "./lib/util.ts";

export interface StartupMode {
  /** ms from spawn to the first 200 from /healthz, one per start */
  samples_ms: number[];
  median_ms: number;
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
  poll_interval_ms: number;
  containers_on_engine: number;
  baseline: StartupMode;
  /** --tls off, fresh empty data dir */
  panel_tls_off: PanelStartupMode;
  /** --tls auto, fresh data dir holding only an existing certificate (none is made) */
  panel_tls_auto: PanelStartupMode;
}

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
  const baseline = summary(base);
  const panelMode = (first: number[], up: number[]): PanelStartupMode => {
    const s = summary(first);
    return {
      ...s,
      ratio: round(s.median_ms / baseline.median_ms),
      engine_up_median_ms: round(median(up), 1),
    };
  };
  return {
    starts,
    poll_interval_ms: POLL_MS,
    containers_on_engine: containersOnEngine,
    baseline,
    panel_tls_off: panelMode(off, offUp),
    panel_tls_auto: panelMode(auto, autoUp),
  };
}

function summary(samples: number[]): StartupMode {
  return {
    samples_ms: samples.map((s) => round(s, 1)),
    median_ms: round(median(samples), 1),
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
