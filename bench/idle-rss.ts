import { cpSync } from "node:fs";
import { join } from "node:path";
import { LABEL } from "./lib/engine.ts";
import { login, panelAt, serveCommand, waitForContainers } from "./lib/panel.ts";
import { type Child, firstAnswer, memoryOf, start, type Target } from "./lib/process.ts";
import { freePort, log, round, sleep, tempDir } from "./lib/util.ts";

export interface Seed {
  /** A data dir that has been through a first start: TLS certificate, database, admin, API token. */
  dataDir: string;
  token: string;
}

export interface RssResult {
  panel_tls: "auto (certificate present)";
  idle_seconds: number;
  containers: number;
  panel_rss_mib: number;
  panel_peak_rss_mib: number;
  baseline_rss_mib: number;
  /** panel / baseline */
  ratio: number;
  /** After one login (argon2id verify) and the same idle time again: what a used panel sits at. */
  panel_rss_after_login_mib: number;
}

/**
 * (b) VmRSS of an idle panel that mirrors `containers` containers, next to a minimal compiled Bun
 * server's. The panel starts from a seeded data dir (no certificate to make, no admin to hash) and
 * is only asked what it takes to see it is ready.
 */
export async function benchIdleRss(
  target: Target,
  baselineBinary: string,
  seed: Seed,
  containers: number,
  idleMs: number,
): Promise<RssResult> {
  const dir = tempDir("rss");
  const dataDir = join(dir, "data");
  cpSync(seed.dataDir, dataDir, { recursive: true });
  const port = freePort();
  const child = start(serveCommand(target, port, dataDir, "auto"), join(dir, "panel.log"));
  let panelRss: { rssKiB: number; hwmKiB: number };
  let afterLogin: number;
  try {
    const url = `https://127.0.0.1:${port}`;
    const panel = panelAt(child, url, seed.token);
    await firstAnswer(child, `${url}/healthz`, 20_000, 10);
    await waitForContainers(panel, LABEL, containers, 60_000);
    log(`idle RSS: panel ready; idling ${idleMs / 1000} s`);
    await sleep(idleMs);
    panelRss = memoryOf(child.pid);

    await login(url);
    await sleep(idleMs);
    afterLogin = memoryOf(child.pid).rssKiB;
  } finally {
    await child.stop();
  }

  const baseline = await baselineRss(baselineBinary, dir, idleMs);
  return {
    panel_tls: "auto (certificate present)",
    idle_seconds: idleMs / 1000,
    containers,
    panel_rss_mib: round(panelRss.rssKiB / 1024, 1),
    panel_peak_rss_mib: round(panelRss.hwmKiB / 1024, 1),
    baseline_rss_mib: round(baseline / 1024, 1),
    ratio: round(panelRss.rssKiB / baseline),
    panel_rss_after_login_mib: round(afterLogin / 1024, 1),
  };
}

/** The minimal server's RSS (KiB) after the same treatment: started, answered a few requests, idle. */
export async function baselineRss(binary: string, dir: string, idleMs: number): Promise<number> {
  const port = freePort();
  const child: Child = start([binary, String(port)], join(dir, "baseline.log"));
  try {
    await firstAnswer(child, `http://127.0.0.1:${port}/healthz`, 10_000, 10);
    for (let i = 0; i < 5; i++)
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    await sleep(idleMs);
    return memoryOf(child.pid).rssKiB;
  } finally {
    await child.stop();
  }
}
