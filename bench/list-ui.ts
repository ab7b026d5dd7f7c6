import { join } from "node:path";
import { chromium } from "playwright-core";
import { LABEL, NAME_PREFIX, startContainers } from "./lib/engine.ts";
import { ADMIN, startPanel, waitForContainers } from "./lib/panel.ts";
import type { Target } from "./lib/process.ts";
import { log, percentile, round, tempDir } from "./lib/util.ts";

export interface ListUiSettings {
  containers: number;
  /** how long each side is scrolled, down and back up */
  scrollMs: number;
  /** how long the list sits still while its live figures change, for the script time per second */
  idleMs: number;
  rounds: number;
}

export interface FrameSide {
  frames: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  /** frames longer than 50 ms: what a person sees as a stutter */
  long_frames: number;
  /** Chromium's script time per second of wall clock while the list sits still */
  idle_script_ms_per_s: number;
}

export interface ListUiResult {
  settings: ListUiSettings;
  rows_rendered: number;
  /** the containers page, live: 500 rows following containers:local and stats:local */
  live: FrameSide;
  /** the same rows, as static HTML with the same stylesheets, nothing live: the floor */
  static: FrameSide;
  /** live / static: 1 means the live list scrolls as smoothly as a static table */
  ratios: { p95: number; p99: number };
  containers_start_s: number;
}

/** Scrolls the page down and up for `ms`, one step per frame, and returns each frame's length. */
const SCROLL_SCRIPT = (ms: number) =>
  new Promise<number[]>((resolve) => {
    const frames: number[] = [];
    const start = performance.now();
    let last = start;
    let down = true;
    const step = (now: number) => {
      frames.push(now - last);
      last = now;
      const max = document.documentElement.scrollHeight - innerHeight;
      if (window.scrollY >= max - 1) down = false;
      if (window.scrollY <= 0) down = true;
      window.scrollBy(0, down ? 40 : -40);
      if (now - start < ms) requestAnimationFrame(step);
      else resolve(frames.slice(1));
    };
    requestAnimationFrame((now) => {
      last = now;
      requestAnimationFrame(step);
    });
  });

/**
 * Issue #11 point 3, "smooth with 500 containers": Chromium's frame times while scrolling the
 * containers list with 500 running containers and live stats, against the same rows as a static
 * page in the same browser and run (its HTML taken from the live page, scripts removed).
 */
export async function benchListUi(target: Target, s: ListUiSettings): Promise<ListUiResult> {
  const started = Date.now();
  // Few at a time: a start on this shared, loaded engine can take longer than a call may wait.
  await startContainers(s.containers, { tag: "ui", parallel: 3 });
  const startS = (Date.now() - started) / 1000;
  const dir = tempDir("list-ui");
  const panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  try {
    await waitForContainers(panel, LABEL, s.containers, 120_000);
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(panel.url);
    await page.locator('input[name="username"]').fill(ADMIN.username);
    await page.locator('input[name="password"]').fill(ADMIN.password);
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-testid="new-container"]').waitFor({ timeout: 60_000 });
    // Only this run's rows (the shared engine has others'): the filter is read when the page loads.
    await page.goto(`${panel.url}/#/envs/local/containers?q=${encodeURIComponent(`${NAME_PREFIX}ui`)}`);
    await page.reload();
    const rows = page.locator('[data-testid="container-row"]');
    const deadline = Date.now() + 120_000;
    while ((await rows.count()) < s.containers) {
      if (Date.now() > deadline)
        throw new Error(`the list shows ${await rows.count()} of ${s.containers} rows`);
      await Bun.sleep(250);
    }
    // Live figures in the rows (the memory column fills from stats:local).
    await page
      .locator('[data-testid="container-row"] .c-mem:not(:empty)')
      .first()
      .waitFor({ timeout: 60_000 });
    const rendered = await rows.count();

    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const scriptSeconds = async () =>
      (
        (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] }
      ).metrics.find((m) => m.name === "ScriptDuration")?.value ?? 0;
    const measure = async (): Promise<{ frames: number[]; idleScriptMsPerS: number }> => {
      const frames: number[] = [];
      let idle = 0;
      for (let r = 0; r < s.rounds; r++) {
        frames.push(...(await page.evaluate(SCROLL_SCRIPT, s.scrollMs)));
        const before = await scriptSeconds();
        const t0 = Date.now();
        await Bun.sleep(s.idleMs);
        idle += (((await scriptSeconds()) - before) * 1000) / ((Date.now() - t0) / 1000);
      }
      return { frames, idleScriptMsPerS: idle / s.rounds };
    };

    log(`list-ui: scrolling the live list of ${rendered} rows`);
    const live = await measure();

    // The same document without its scripts, served at the panel's origin so its stylesheets load.
    const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "");
    const staticUrl = `${panel.url}/bench-static-list.html`;
    await page.route(staticUrl, (route) => route.fulfill({ contentType: "text/html", body: html }));
    await page.goto(staticUrl);
    const staticRows = await rows.count();
    if (staticRows < s.containers) throw new Error(`the static copy has ${staticRows} rows`);
    log("list-ui: scrolling the static copy");
    const still = await measure();

    const side = (m: { frames: number[]; idleScriptMsPerS: number }): FrameSide => ({
      frames: m.frames.length,
      p50_ms: round(percentile(m.frames, 50)),
      p95_ms: round(percentile(m.frames, 95)),
      p99_ms: round(percentile(m.frames, 99)),
      max_ms: round(Math.max(...m.frames)),
      long_frames: m.frames.filter((f) => f > 50).length,
      idle_script_ms_per_s: round(m.idleScriptMsPerS),
    });
    const liveSide = side(live);
    const staticSide = side(still);
    return {
      settings: s,
      rows_rendered: rendered,
      live: liveSide,
      static: staticSide,
      ratios: {
        p95: round(liveSide.p95_ms / staticSide.p95_ms),
        p99: round(liveSide.p99_ms / staticSide.p99_ms),
      },
      containers_start_s: round(startS, 1),
    };
  } finally {
    await browser.close();
    await panel.child.stop();
  }
}
