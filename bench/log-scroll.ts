/**
 * Group `logs` (issue #11 point 6, issue #14 point 4):
 *   - frame times in Chromium while scrolling a 200,000-line log in the panel's viewer, against a
 *     plain static page scrolled the same way in the same browser (the floor: no script at all).
 *     The static page holds 2,000 lines: with 200,000 the browser itself takes over a second a
 *     frame here, which would flatter any viewer.
 *   - bytes on the wire per line while following a container that writes ~10,000 lines/s, against
 *     the same lines sent as before batching (a frame per line, each line an object with its
 *     RFC 3339 time), computed from the lines received.
 */
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { decodeFrame } from "../src/protocol/frames.ts";
import { type LogBatch, linesOf } from "../src/protocol/log-batch.ts";
import { encodeFrame } from "../src/stream/frames.ts";
import { engine, IMAGE, LABEL_KEY, NAME_PREFIX, NETWORK_MODE } from "./lib/engine.ts";
import { ADMIN, startPanel } from "./lib/panel.ts";
import type { Target } from "./lib/process.ts";
import { type Budget, budget, type Row } from "./lib/report.ts";
import { log, percentile, RUN_ID, round, tempDir, waitFor } from "./lib/util.ts";

export interface LogScrollSettings {
  lines: number;
  /** frames measured per page, each scrolled by `stepPx` */
  frames: number;
  stepPx: number;
  /** how long the ~10k lines/s follow is measured */
  followSeconds: number;
}

export interface FrameTimes {
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  frames: number;
}

export interface LogScrollResult {
  settings: LogScrollSettings;
  viewer: FrameTimes;
  static_page: FrameTimes;
  /** viewer p95 / static page p95 */
  p95_ratio: number;
  follow: {
    lines: number;
    lines_per_s: number;
    frames: number;
    /** WebSocket messages' bytes (payload and header) per line received */
    wire_bytes_per_line: number;
    /** the same lines as one frame each in the former shape, with the same headers */
    per_line_frames_bytes_per_line: number;
    text_bytes_per_line: number;
    ratio: number;
  };
}

const BUDGET_P95_MS = 16;
const STATIC_LINES = 2_000;

async function createContainer(name: string, cmd: string[]): Promise<string> {
  const created = (await engine("POST", `/containers/create?name=${encodeURIComponent(name)}`, {
    Image: IMAGE,
    Cmd: cmd,
    Labels: { [LABEL_KEY]: RUN_ID },
    HostConfig: { NetworkMode: NETWORK_MODE },
  })) as { Id: string };
  await engine("POST", `/containers/${created.Id}/start`);
  return created.Id;
}

/** Runs `touch /tmp/go` in a container: its script starts writing then. */
async function go(id: string): Promise<void> {
  const exec = (await engine("POST", `/containers/${id}/exec`, { Cmd: ["touch", "/tmp/go"] })) as {
    Id: string;
  };
  await engine("POST", `/exec/${exec.Id}/start`, { Detach: true });
}

/**
 * Scrolls `selector` by `step` px each animation frame for `frames` frames and times each frame
 * (rAF to rAF). Chromium runs without its frame-rate limit, so a frame takes the work it needs.
 */
async function scrollFrames(page: Page, selector: string, frames: number, step: number): Promise<FrameTimes> {
  const times = await page.evaluate(
    ({ selector, frames, step }) =>
      new Promise<number[]>((resolve) => {
        const el = document.querySelector(selector) as HTMLElement;
        el.scrollTop = 0;
        const out: number[] = [];
        let last = 0;
        let down = true;
        const tick = (now: number) => {
          if (last) out.push(now - last);
          last = now;
          if (out.length >= frames) return resolve(out);
          if (el.scrollTop + el.clientHeight + step >= el.scrollHeight) down = false;
          if (el.scrollTop - step <= 0) down = true;
          el.scrollTop += down ? step : -step;
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    { selector, frames, step },
  );
  return {
    p50_ms: round(percentile(times, 50), 2),
    p95_ms: round(percentile(times, 95), 2),
    max_ms: round(Math.max(...times), 2),
    frames: times.length,
  };
}

async function measureScroll(url: string, id: string, s: LogScrollSettings) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      "--disable-frame-rate-limit",
      "--disable-gpu-vsync",
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('input[name="username"]').fill(ADMIN.username);
    await page.locator('input[name="password"]').fill(ADMIN.password);
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-testid="user"]').waitFor();
    await page.goto(`${url}/#/envs/local/containers/${id}`);
    await page.locator('[data-testid="logs-empty"]').waitFor({ timeout: 30_000 });
    await go(id);
    await page.locator(".lv-row", { hasText: "all-written" }).waitFor({ timeout: 180_000 });
    const shown = Number(await page.locator('[data-testid="logs"]').getAttribute("data-lines"));
    if (shown !== s.lines + 1) throw new Error(`the viewer holds ${shown} lines, not ${s.lines + 1}`);
    await page.locator('[data-testid="follow"]').click();
    // Warm both pages up the same way before measuring.
    await scrollFrames(page, '[data-testid="logs"]', 30, s.stepPx);
    const viewer = await scrollFrames(page, '[data-testid="logs"]', s.frames, s.stepPx);

    const staticPage = await context.newPage();
    await staticPage.setContent(
      `<!doctype html><style>#box{height:585px;overflow:auto;font:12px/18px monospace;white-space:pre;margin:0}</style>` +
        `<pre id="box"></pre>`,
    );
    await staticPage.evaluate((n) => {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(`04:00:00.000 line-${i} payload`);
      (document.getElementById("box") as HTMLElement).textContent = lines.join("\n");
    }, STATIC_LINES);
    await scrollFrames(staticPage, "#box", 30, s.stepPx);
    const staticFrames = await scrollFrames(staticPage, "#box", s.frames, s.stepPx);
    return { viewer, static_page: staticFrames };
  } finally {
    await browser.close();
  }
}

/** WebSocket header bytes of a server→client (unmasked) message of `n` bytes. */
const wsHeader = (n: number) => (n < 126 ? 2 : n < 65_536 ? 4 : 10);

async function measureFollow(url: string, token: string, id: string, seconds: number) {
  const topic = `logs:local:${id}`;
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/stream?topics=${topic}`, {
    headers: { authorization: `Bearer ${token}` },
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  let bytes = 0;
  let frames = 0;
  let lines = 0;
  let text = 0;
  let oldBytes = 0;
  let measuring = false;
  ws.onmessage = (e) => {
    const data = new Uint8Array(e.data as ArrayBuffer);
    const f = decodeFrame(data) as { t: string; k: string; d: LogBatch };
    if (!measuring || f.t !== topic || f.k !== "lines") return;
    bytes += data.length + wsHeader(data.length);
    frames++;
    for (const l of linesOf(f.d)) {
      lines++;
      text += Buffer.byteLength(l.text);
      // As it went before: {stream, time (nanoseconds, as the engine writes them), text}, a frame each.
      const ms = Math.floor(l.us / 1000);
      const time = `${new Date(ms).toISOString().slice(0, 19)}.${String(l.us % 1_000_000).padStart(6, "0")}000Z`;
      const old = encodeFrame(topic, {
        k: "lines",
        d: [{ stream: l.stderr ? "stderr" : "stdout", time, text: l.text }],
      });
      oldBytes += old.length + wsHeader(old.length);
    }
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("stream connection failed"));
  });
  await go(id);
  await new Promise((r) => setTimeout(r, 1_000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  ws.close();
  if (!lines) throw new Error("no log lines arrived");
  return {
    lines,
    lines_per_s: Math.round(lines / elapsed),
    frames,
    wire_bytes_per_line: round(bytes / lines, 2),
    per_line_frames_bytes_per_line: round(oldBytes / lines, 2),
    text_bytes_per_line: round(text / lines, 2),
    ratio: round(oldBytes / bytes, 2),
  };
}

export async function benchLogScroll(target: Target, s: LogScrollSettings): Promise<LogScrollResult> {
  const dir = tempDir("logs");
  const panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir });
  try {
    const big = await createContainer(`${NAME_PREFIX}logs-scroll`, [
      "sh",
      "-c",
      `while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; while [ $i -lt ${s.lines} ]; do ` +
        `echo "line-$i GET /api/v1/items?page=$i 200 3ms"; i=$((i+1)); done; echo all-written; sleep 3600`,
    ]);
    // At most ~10k lines/s: 1,000 lines ten times a second (a shell loop of echo manages far fewer).
    const steady = await createContainer(`${NAME_PREFIX}logs-follow`, [
      "sh",
      "-c",
      "while [ ! -e /tmp/go ]; do sleep 0.1; done; " +
        'while :; do yes "GET /api/v1/items?page=2 200 3ms" | head -n 1000; usleep 100000; done',
    ]);
    await waitFor("the panel to see the log containers", 20_000, async () => {
      const list = (await panel.api("/api/v1/envs/local/containers")) as { id: string }[];
      return list.some((c) => c.id === steady) && list.some((c) => c.id === big) ? true : undefined;
    });
    log(`logs: following ~10k lines/s for ${s.followSeconds} s`);
    const follow = await measureFollow(panel.url, panel.token, steady, s.followSeconds);
    await engine("POST", `/containers/${steady}/kill`).catch(() => {});
    log(`logs: ${s.lines} lines into the viewer, then scrolling`);
    const scroll = await measureScroll(panel.url, big, s);
    return {
      settings: s,
      ...scroll,
      p95_ratio: round(scroll.viewer.p95_ms / scroll.static_page.p95_ms, 2),
      follow,
    };
  } finally {
    await panel.child.stop();
  }
}

export function summariseLogs(
  outcome: { ok: true; value: LogScrollResult } | { ok: false; error: string },
  rows: Row[],
  budgets: Budget[],
): void {
  if (!outcome.ok) {
    if (outcome.error !== "skipped")
      rows.push({
        benchmark: "logs",
        metric: "FAILED",
        panel: outcome.error.slice(0, 60),
        baseline: "",
        ratio: "",
      });
    return;
  }
  const { viewer, static_page: base, follow, settings } = outcome.value;
  const frame = budget("logs", "p95 frame scrolling the viewer", viewer.p95_ms, "ms", "max", BUDGET_P95_MS);
  budgets.push(frame);
  rows.push({
    benchmark: "logs",
    metric: `p95 frame, scrolling ${settings.lines.toLocaleString("en")} lines`,
    panel: `${viewer.p95_ms} ms`,
    baseline: `${base.p95_ms} ms (static page, ${STATIC_LINES.toLocaleString("en")} lines)`,
    ratio: `${outcome.value.p95_ratio}x`,
    budget: frame,
  });
  rows.push({
    benchmark: "logs",
    metric: "p50 / max frame",
    panel: `${viewer.p50_ms} / ${viewer.max_ms} ms`,
    baseline: `${base.p50_ms} / ${base.max_ms} ms`,
    ratio: "",
  });
  rows.push({
    benchmark: "logs",
    metric: `wire bytes per line, ${follow.lines_per_s.toLocaleString("en")} lines/s`,
    panel: `${follow.wire_bytes_per_line} B (${follow.text_bytes_per_line} B text)`,
    baseline: `${follow.per_line_frames_bytes_per_line} B (a frame per line)`,
    ratio: `${follow.ratio}x smaller`,
  });
}
