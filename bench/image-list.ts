import { join } from "node:path";
import { tarOf } from "../src/images/tar.ts";
import { newSide, type SideResult, summarise } from "./container-list.ts";
import { LABEL, LABEL_KEY, mapLimit, SOCKET } from "./lib/engine.ts";
import { concurrent, jsonListHit, sequential } from "./lib/load.ts";
import { startPanel } from "./lib/panel.ts";
import type { Target } from "./lib/process.ts";
import { benchAlive, defer, log, percentile, RUN_ID, round, tempDir } from "./lib/util.ts";

export interface ImageListSettings {
  images: number;
  warmup: number;
  sequential: number;
  concurrentLoops: number;
  concurrentRequests: number;
  rounds: number;
}

export interface ImageListResult {
  images_on_engine: number;
  settings: ImageListSettings;
  engine: SideResult;
  panel: SideResult;
  /** engine / panel for latencies, panel / engine for throughput */
  ratios: { p50: number; p99: number; requests_per_s: number };
  images_made_s: number;
}

const REPO = `gpbench-${RUN_ID}-img`;

async function engineCall(method: string, path: string, body?: Uint8Array<ArrayBuffer>): Promise<string> {
  const res = await fetch(`http://localhost${path}`, {
    method,
    unix: SOCKET,
    body,
    headers: body ? { "content-type": "application/x-tar" } : {},
    signal: AbortSignal.timeout(60_000),
  } as RequestInit);
  const text = await res.text();
  if (!res.ok) throw new Error(`engine ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

const labelled = async (label: string) =>
  JSON.parse(
    await engineCall("GET", `/images/json?filters=${encodeURIComponent(JSON.stringify({ label: [label] }))}`),
  ) as { Id: string; Labels?: Record<string, string> }[];

async function removeImages(ids: string[]): Promise<void> {
  await mapLimit(ids, 4, async (id) => {
    await engineCall("DELETE", `/images/${id}?force=1`).catch(() => {});
  });
}

/** Removes bench images of earlier runs whose process is gone. */
async function sweepImages(): Promise<number> {
  const stale = (await labelled(LABEL_KEY)).filter((i) => {
    const owner = Number(i.Labels?.[LABEL_KEY]?.split("-")[0]);
    return !(owner !== process.pid && benchAlive(owner));
  });
  await removeImages(stale.map((i) => i.Id));
  return stale.length;
}

/**
 * `count` distinct images (each a one-file import, so each its own id), labelled with the run's
 * bench label and named gpbench-<run>-img:<n>; removed by the run's cleanup.
 */
async function makeImages(count: number): Promise<void> {
  const changes = encodeURIComponent(`LABEL ${LABEL}`);
  const n = Array.from({ length: count }, (_, i) => i);
  await mapLimit(n, 4, async (i) => {
    const tar = tarOf([{ name: "n.txt", data: new TextEncoder().encode(`${RUN_ID} ${i}\n`) }]);
    await engineCall("POST", `/images/create?fromSrc=-&repo=${REPO}&tag=${i}&changes=${changes}`, tar);
  });
}

/**
 * Image list (issue #10): the panel's GET /api/v1/envs/local/images (from its mirror) vs the
 * engine's own GET /images/json over its socket, with `images` bench images on the engine (and
 * whatever else it holds, counted in both), the same client, rounds alternating the two sides.
 */
export async function benchImageList(target: Target, s: ImageListSettings): Promise<ImageListResult> {
  const swept = await sweepImages();
  if (swept) log(`image list: removed ${swept} images of earlier runs`);
  defer("bench images", async () => {
    const ours = await labelled(LABEL);
    await removeImages(ours.map((i) => i.Id));
    log(`removed ${ours.length} bench images`);
  });
  log(`image list: importing ${s.images} images`);
  const t0 = performance.now();
  await makeImages(s.images);
  const madeSeconds = (performance.now() - t0) / 1000;

  const dir = tempDir("images");
  const panel = await startPanel({ target, dataDir: join(dir, "data"), tls: "off", workDir: dir });
  try {
    const engineUrl = "http://localhost/images/json";
    const panelUrl = `${panel.url}/api/v1/envs/local/images`;
    const auth = { headers: { authorization: `Bearer ${panel.token}` } };
    // The panel answers once its mirror holds every bench image.
    const deadline = performance.now() + 60_000;
    for (;;) {
      const list = (await (await fetch(panelUrl, auth)).json()) as { tags: string[] }[];
      if (list.filter((i) => i.tags.some((t) => t.startsWith(`${REPO}:`))).length >= s.images) break;
      if (performance.now() > deadline)
        throw new Error("the panel's image list never showed the bench images");
      await Bun.sleep(100);
    }
    const engineBody = await engineCall("GET", "/images/json");
    const onEngine = (JSON.parse(engineBody) as unknown[]).length;
    const panelBody = await (await fetch(panelUrl, auth)).text();
    const engineHit = jsonListHit(engineUrl, { unix: SOCKET }, s.images);
    const panelHit = jsonListHit(panelUrl, auth, s.images);

    log(`image list: warm-up (${s.warmup} requests per side)`);
    await sequential(engineHit, s.warmup);
    await sequential(panelHit, s.warmup);
    const sides = { engine: newSide(), panel: newSide() };
    for (let r = 0; r < s.rounds; r++) {
      log(`image list: round ${r + 1}/${s.rounds}`);
      for (const [name, hit] of [
        ["engine", engineHit],
        ["panel", panelHit],
      ] as const) {
        sides[name].samples.push(...(await sequential(hit, Math.ceil(s.sequential / s.rounds))));
        const run = await concurrent(
          hit,
          s.concurrentLoops,
          Math.ceil(s.concurrentRequests / s.rounds),
          60_000,
        );
        sides[name].count += run.count;
        sides[name].ms += run.ms;
      }
    }
    const engine = summarise(sides.engine, Buffer.byteLength(engineBody));
    const panelSide = summarise(sides.panel, Buffer.byteLength(panelBody));
    return {
      images_on_engine: onEngine,
      settings: s,
      engine,
      panel: panelSide,
      ratios: {
        p50: round(engine.p50_ms / panelSide.p50_ms),
        p99: round(percentile(sides.engine.samples, 99) / percentile(sides.panel.samples, 99)),
        requests_per_s: round(panelSide.requests_per_s / engine.requests_per_s),
      },
      images_made_s: round(madeSeconds, 1),
    };
  } finally {
    await panel.child.stop();
  }
}
