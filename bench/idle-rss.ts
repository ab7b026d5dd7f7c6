import { chmodSync, copyFileSync, cpSync } from "node:fs";
import { join } from "node:path";
import { SecondEngine } from "../tests/helpers/second-engine.ts";
import { IMAGE, LABEL, LABEL_KEY, mapLimit, NAME_PREFIX, NETWORK_MODE, SLEEP_CMD } from "./lib/engine.ts";
import { login, panelAt, serveCommand, waitForContainers } from "./lib/panel.ts";
import { type Child, firstAnswer, memoryOf, start, type Target } from "./lib/process.ts";
import { defer, freePort, log, RUN_ID, round, sleep, tempDir } from "./lib/util.ts";

export interface Seed {
  /** A data dir that has been through a first start: TLS certificate, database, admin, API token. */
  dataDir: string;
  token: string;
}

export interface RssResult {
  engine: string;
  containers: number;
  panel_tls: "auto (certificate present)";
  idle_seconds: number;
  /** VmRSS `idle_seconds` after the panel lists every container, nobody logged in yet */
  panel_rss_mib: number;
  /**
   * Mean and max of VmRSS read every 2 s over the second half of each idle window (idle, then
   * after the page): where in the JS heap's sawtooth the one reading above fell.
   */
  panel_rss_window_mib: Window;
  panel_rss_after_page_window_mib: Window;
  panel_peak_rss_mib: number;
  /**
   * VmRSS after one login (argon2id) and a client subscribed as the containers page is
   * (`containers:local` and `stats:local` over the stream, by cookie), `idle_seconds` later with
   * the client still connected
   */
  panel_rss_after_page_mib: number;
  /** the two parts of that VmRSS: anonymous (heaps) and file-backed (the executable's pages) */
  panel_rss_after_page_anon_mib: number;
  panel_rss_after_page_file_mib: number;
  page_frames_received: number;
  baseline_rss_mib: number;
  /**
   * VmRSS of bench/baseline/runtime-floor.ts after the page phase's treatment, measured beside it:
   * HTTPS with the same certificate, one argon2id login, a WebSocket sent a msgpack frame a second,
   * the engine's container list each second, SQLite in WAL. What Bun holds with no panel code.
   */
  runtime_floor_rss_mib: number;
  /**
   * A second panel beside the first, treated the same: by default the same executable keeping its
   * pages (GHOSTPANEL_KEEP_PAGES=1; src/server/hand-back-pages.ts), what handing them back is
   * worth; with `--beside FILE` another executable (an older build: old against new in one run).
   */
  beside: string;
  kept_pages_rss_mib: number;
  kept_pages_rss_after_page_mib: number;
  beside_window_mib: Window;
  beside_after_page_window_mib: Window;
  /** panel / baseline, for each of the two */
  ratio: number;
  ratio_after_page: number;
  /**
   * Another panel started on the same engine while it held no container: VmRSS `idle_seconds`
   * after it came up, then again `idle_seconds` after the `containers` were made and listed.
   */
  growth: {
    rss_empty_mib: number;
    rss_full_mib: number;
    /**
     * (full − empty) / containers: what the first containers cost, one-time costs included (the
     * code that runs only once there are containers, the allocators' first pages for them)
     */
    kib_per_container: number;
    /** the same from the windows' means instead of the two readings */
    kib_per_container_means: number;
    full_window_mib: Window;
    /** the two parts of each: anonymous / file-backed */
    empty_anon_file_mib: [number, number];
    full_anon_file_mib: [number, number];
    /**
     * Then, once the other panels' page phase is over, `more` containers made as well: the same
     * panel's VmRSS `idle_seconds` after it listed them all. The cost of each container beyond the
     * first: (more − full) / more, from the windows' means (the budget's figure) and the readings.
     */
    more: number;
    rss_more_mib: number;
    more_window_mib: Window;
    more_anon_file_mib: [number, number];
    kib_per_container_beyond_means: number;
    kib_per_container_beyond: number;
    /**
     * The same panel `idle_seconds` after every container (`containers` + `more`) was removed
     * again: what it keeps of containers gone.
     */
    rss_removed_mib: number;
    removed_window_mib: Window;
    removed_anon_file_mib: [number, number];
  };
}

/** MiB: mean and max of the readings in a window, and how many there were. */
export interface Window {
  mean: number;
  max: number;
  readings: number;
}

const ENGINE_KIND = "a private dockerd (own network namespace), holding only the bench's containers";

/**
 * (b) VmRSS of idle panels against a private engine whose container count is exact, next to a
 * minimal compiled Bun server's after the same idle time. Panels start from a seeded data dir (no
 * certificate to make, no admin to hash at start).
 */
export async function benchIdleRss(
  target: Target,
  baselineBinary: string,
  floorBinary: string,
  seed: Seed,
  containers: number,
  idleMs: number,
  beside?: string,
): Promise<RssResult> {
  const dir = tempDir("rss");
  log("idle RSS: starting a private engine");
  const engine = await SecondEngine.start();
  let stopping: Promise<void> | undefined;
  const stopEngine = () => {
    stopping ??= engine.stop();
    return stopping;
  };
  defer("private engine", stopEngine);
  try {
    engine.loadImage(IMAGE);
    const growthPanel = await seededPanel(target, seed, dir, "empty", engine.url);
    await waitForContainers(growthPanel, LABEL, 0, 60_000);
    log(`idle RSS: panel on the empty engine; idling ${idleMs / 1000} s`);
    const [emptyWindow] = await idleWatching([growthPanel.child.pid], idleMs);
    const empty = memoryOf(growthPanel.child.pid);

    log(`idle RSS: making ${containers} containers on the private engine`);
    await makeContainers(engine.socketPath, 0, containers);
    await waitForContainers(growthPanel, LABEL, containers, 120_000);
    const panel = await seededPanel(target, seed, dir, "full", engine.url);
    const kept = beside
      ? await seededPanel(
          { kind: "binary", path: beside, command: [beside] },
          seed,
          dir,
          "beside",
          engine.url,
        )
      : await seededPanel(target, seed, dir, "kept", engine.url, { GHOSTPANEL_KEEP_PAGES: "1" });
    await waitForContainers(panel, LABEL, containers, 120_000);
    await waitForContainers(kept, LABEL, containers, 120_000);
    log(`idle RSS: both panels list ${containers} containers; idling ${idleMs / 1000} s (baseline too)`);
    const [baseline, [fullWindow, idleWindow, besideWindow]] = await Promise.all([
      baselineRss(baselineBinary, dir, idleMs),
      idleWatching([growthPanel.child.pid, panel.child.pid, kept.child.pid], idleMs),
    ]);
    const full = memoryOf(growthPanel.child.pid);
    const idle = memoryOf(panel.child.pid);
    const keptIdle = memoryOf(kept.child.pid).rssKiB;

    log(`idle RSS: a login and the containers page's subscriptions; idling ${idleMs / 1000} s`);
    const page = await openPage(panel.url);
    const keptPage = await openPage(kept.url);
    const [floor, [pageWindow, besidePageWindow]] = await Promise.all([
      runtimeFloorRss(floorBinary, dir, seed.dataDir, engine.socketPath, idleMs),
      idleWatching([panel.child.pid, kept.child.pid], idleMs),
    ]);
    const afterPage = memoryOf(panel.child.pid);
    const keptAfterPage = memoryOf(kept.child.pid).rssKiB;
    const frames = page.close();
    const keptFrames = keptPage.close();
    await Promise.all([panel.child.stop(), kept.child.stop()]);
    if (frames === 0 || keptFrames === 0) throw new Error("the page's stream client received no frame");

    const more = 2 * containers;
    log(`idle RSS: making ${more} more containers; the growth panel idles ${idleMs / 1000} s`);
    await makeContainers(engine.socketPath, containers, containers + more);
    await waitForContainers(growthPanel, LABEL, containers + more, 120_000);
    const [moreWindow] = await idleWatching([growthPanel.child.pid], idleMs);
    const grown = memoryOf(growthPanel.child.pid);

    log(`idle RSS: removing the ${containers + more} containers; the growth panel idles ${idleMs / 1000} s`);
    await removeContainers(engine.socketPath);
    await waitForContainers(growthPanel, LABEL, 0, 120_000);
    const [removedWindow] = await idleWatching([growthPanel.child.pid], idleMs);
    const removed = memoryOf(growthPanel.child.pid);
    await growthPanel.child.stop();

    return {
      engine: ENGINE_KIND,
      containers,
      panel_tls: "auto (certificate present)",
      idle_seconds: idleMs / 1000,
      panel_rss_mib: round(idle.rssKiB / 1024, 1),
      panel_rss_window_mib: idleWindow!,
      panel_rss_after_page_window_mib: pageWindow!,
      panel_peak_rss_mib: round(idle.hwmKiB / 1024, 1),
      panel_rss_after_page_mib: round(afterPage.rssKiB / 1024, 1),
      panel_rss_after_page_anon_mib: round(afterPage.anonKiB / 1024, 1),
      panel_rss_after_page_file_mib: round(afterPage.fileKiB / 1024, 1),
      page_frames_received: frames,
      baseline_rss_mib: round(baseline / 1024, 1),
      runtime_floor_rss_mib: round(floor / 1024, 1),
      beside: beside ?? "the same executable with GHOSTPANEL_KEEP_PAGES=1",
      beside_window_mib: besideWindow!,
      beside_after_page_window_mib: besidePageWindow!,
      kept_pages_rss_mib: round(keptIdle / 1024, 1),
      kept_pages_rss_after_page_mib: round(keptAfterPage / 1024, 1),
      ratio: round(idle.rssKiB / baseline),
      ratio_after_page: round(afterPage.rssKiB / baseline),
      growth: {
        rss_empty_mib: round(empty.rssKiB / 1024, 1),
        rss_full_mib: round(full.rssKiB / 1024, 1),
        kib_per_container: round((full.rssKiB - empty.rssKiB) / containers, 1),
        kib_per_container_means: round(((fullWindow!.mean - emptyWindow!.mean) * 1024) / containers, 1),
        full_window_mib: fullWindow!,
        empty_anon_file_mib: [round(empty.anonKiB / 1024, 1), round(empty.fileKiB / 1024, 1)],
        full_anon_file_mib: [round(full.anonKiB / 1024, 1), round(full.fileKiB / 1024, 1)],
        more,
        rss_more_mib: round(grown.rssKiB / 1024, 1),
        more_window_mib: moreWindow!,
        more_anon_file_mib: [round(grown.anonKiB / 1024, 1), round(grown.fileKiB / 1024, 1)],
        kib_per_container_beyond_means: round(((moreWindow!.mean - fullWindow!.mean) * 1024) / more, 1),
        kib_per_container_beyond: round((grown.rssKiB - full.rssKiB) / more, 1),
        rss_removed_mib: round(removed.rssKiB / 1024, 1),
        removed_window_mib: removedWindow!,
        removed_anon_file_mib: [round(removed.anonKiB / 1024, 1), round(removed.fileKiB / 1024, 1)],
      },
    };
  } finally {
    await stopEngine();
  }
}

/**
 * Idles `ms` while reading each process's VmRSS every 2 s over the window's second half: one
 * reading lands anywhere in the JS heap's sawtooth (several MiB between two collections).
 */
async function idleWatching(pids: number[], ms: number): Promise<Window[]> {
  const end = Date.now() + ms;
  await sleep(ms / 2);
  const readings = pids.map(() => [] as number[]);
  for (;;) {
    for (const [i, pid] of pids.entries()) readings[i]!.push(memoryOf(pid).rssKiB / 1024);
    const left = end - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(2_000, left));
  }
  return readings.map((r) => ({
    mean: round(r.reduce((a, b) => a + b, 0) / r.length, 1),
    max: round(Math.max(...r), 1),
    readings: r.length,
  }));
}

/**
 * Each panel runs its own copy of the executable, as a panel on a box does: two processes mapping
 * one file share its pages, which both would count in VmRSS, and which the kernel will not take
 * back from one of them (src/server/hand-back-pages.ts).
 */
async function seededPanel(
  target: Target,
  seed: Seed,
  dir: string,
  name: string,
  engineUrl: string,
  env?: Record<string, string>,
) {
  const dataDir = join(dir, `data-${name}`);
  cpSync(seed.dataDir, dataDir, { recursive: true });
  const port = freePort();
  let own = target;
  if (target.kind === "binary") {
    const file = join(dir, `ghostpanel-${name}`);
    copyFileSync(target.command[0]!, file);
    chmodSync(file, 0o755);
    own = { ...target, command: [file] };
  }
  const child = start(
    serveCommand(own, port, dataDir, "auto", engineUrl),
    join(dir, `panel-${name}.log`),
    env,
  );
  const url = `https://127.0.0.1:${port}`;
  await firstAnswer(child, `${url}/healthz`, 20_000, 10);
  return panelAt(child, url, seed.token);
}

/** Sleeping containers `from`..`to`-1 on the engine at `socket`, 10 created at a time, over its API. */
async function makeContainers(socket: string, from: number, to: number): Promise<void> {
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`http://localhost${path}`, {
      method: "POST",
      unix: socket,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`private engine POST ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text ? (JSON.parse(text) as { Id: string }) : undefined;
  };
  await mapLimit(
    Array.from({ length: to - from }, (_, i) => from + i),
    10,
    async (i) => {
      const name = `${NAME_PREFIX}rss-${String(i).padStart(3, "0")}`;
      const made = await call(`/containers/create?name=${name}`, {
        Image: IMAGE,
        Cmd: SLEEP_CMD,
        Labels: { [LABEL_KEY]: RUN_ID },
        HostConfig: { NetworkMode: NETWORK_MODE },
      });
      await call(`/containers/${made!.Id}/start`);
    },
  );
}

/** Removes every container of the private engine (the bench's own: nothing else runs there). */
async function removeContainers(socket: string): Promise<void> {
  const call = async (method: string, path: string) => {
    const res = await fetch(`http://localhost${path}`, {
      method,
      unix: socket,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`private engine ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  const ids = (JSON.parse(await call("GET", "/containers/json?all=1")) as { Id: string }[]).map((c) => c.Id);
  await mapLimit(ids, 10, async (id) => {
    await call("DELETE", `/containers/${id}?force=1`);
  });
}

/**
 * What a browser on the containers page holds: a session (login) and one stream subscribed to the
 * container list and live stats, by cookie with a same-origin Origin. close() returns the frames seen.
 */
async function openPage(url: string): Promise<{ close(): number }> {
  const { cookie } = await login(url);
  const ws = new WebSocket(
    `${url.replace(/^http/, "ws")}/api/v1/stream?topics=containers:local,stats:local`,
    // Bun's WebSocket takes headers and TLS options (the certificate is the panel's own).
    { headers: { cookie, origin: url }, tls: { rejectUnauthorized: false } } as unknown as string[],
  );
  let frames = 0;
  ws.binaryType = "arraybuffer";
  ws.onmessage = () => {
    frames++;
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the page's stream did not open in 10 s")), 10_000);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      reject(new Error(`the page's stream closed: ${e.code} ${e.reason}`));
    };
  });
  ws.onclose = null;
  return {
    close() {
      ws.close();
      return frames;
    },
  };
}

/** The minimal server's RSS (KiB) after the same treatment: started, answered a few requests, idle. */
export async function baselineRss(binary: string, dir: string, idleMs: number): Promise<number> {
  const port = freePort();
  const child: Child = start([binary, String(port)], join(dir, `baseline-${port}.log`));
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

/** The runtime floor's RSS (KiB) after a login and a WebSocket client, `idleMs` later (the client still there). */
async function runtimeFloorRss(
  binary: string,
  dir: string,
  certDir: string,
  socket: string,
  idleMs: number,
): Promise<number> {
  const port = freePort();
  const data = tempDir("floor");
  const child = start([binary, String(port), certDir, data, socket], join(dir, `floor-${port}.log`));
  const url = `https://127.0.0.1:${port}`;
  try {
    await firstAnswer(child, `${url}/healthz`, 20_000, 10);
    const tls = { rejectUnauthorized: false };
    const login = await fetch(`${url}/login`, {
      method: "POST",
      body: JSON.stringify({ password: "floor-password" }),
      tls,
    } as RequestInit);
    if (!((await login.json()) as { ok: boolean }).ok) throw new Error("the runtime floor refused its login");
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { tls } as unknown as string[]);
    let frames = 0;
    ws.onmessage = () => {
      frames++;
    };
    await sleep(idleMs);
    ws.close();
    if (frames === 0) throw new Error("the runtime floor's WebSocket received no frame");
    return memoryOf(child.pid).rssKiB;
  } finally {
    await child.stop();
  }
}
