import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFeed } from "../../src/protocol/feed.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import { ConfigError, parseServeArgs } from "../../src/server/config.ts";
import { type RunningPanel, startPanel } from "../../src/server/serve.ts";
import { cleanupEngine, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { ADMIN, sessionCookies } from "../helpers/panel.ts";

let panel: RunningPanel;
let url: string;
let dataDir: string;
let token: string;
let cookie: string;
const lines: string[] = [];
const name = uniqueName("h3");

/**
 * Fetch options for HTTP/3 or HTTP/1.1. Bun's HTTP/3 client takes no `ca` (it answers
 * HTTP3Unsupported): it is told to accept the panel's self-signed certificate instead.
 */
const over = (protocol: "http3" | "http1.1", headers: Record<string, string> = {}) =>
  ({
    protocol,
    headers,
    tls: protocol === "http3" ? { rejectUnauthorized: false } : { ca: panel.tls!.cert },
  }) as RequestInit;
const bearer = () => ({ authorization: `Bearer ${token}` });

/** Reads a feed until `done` says it has seen enough (or 15 s pass), then lets it go. */
async function collect(res: Response, done: (frames: Frame[]) => boolean): Promise<Frame[]> {
  const frames: Frame[] = [];
  const timer = setTimeout(() => void res.body?.cancel().catch(() => {}), 15_000);
  try {
    for await (const f of readFeed(res.body!)) {
      frames.push(f);
      if (done(frames)) break;
    }
  } catch {
    // cut by the timer: the assertions say what was missing
  } finally {
    clearTimeout(timer);
  }
  return frames;
}

const metric = async (text: string) =>
  Number(/^ghostpanel_stream_connections (\d+)$/m.exec(text)?.[1] ?? Number.NaN);

describe("--http3", () => {
  beforeAll(async () => {
    runContainer(name, ["sh", "-c", "while true; do echo tick; sleep 1; done"]);
    dataDir = mkdtempSync(join(tmpdir(), "gptest-h3-"));
    const config = parseServeArgs(
      ["--listen", "127.0.0.1:0", "--data", dataDir, "--tls", "auto", "--http3"],
      { GHOSTPANEL_ENGINE: process.env.GHOSTPANEL_TEST_ENGINE },
    );
    panel = await startPanel(config, "test", (l) => lines.push(l));
    url = `https://127.0.0.1:${panel.port}`;
    const setup = await fetch(`${url}/api/v1/setup`, {
      ...over("http1.1", { "content-type": "application/json" }),
      method: "POST",
      body: JSON.stringify(ADMIN),
    });
    expect(setup.status).toBe(201);
    cookie = sessionCookies(setup);
    const made = await fetch(`${url}/api/v1/tokens`, {
      ...over("http1.1", {
        cookie,
        "x-csrf-token": /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "",
        "content-type": "application/json",
      }),
      method: "POST",
      body: JSON.stringify({ name: "h3" }),
    });
    token = ((await made.json()) as { token: string }).token;
    // The engine's list is read after the start: the container is there once the panel has read it.
    await eventually(
      async () => {
        const res = await fetch(`${url}/api/v1/envs/local/containers`, over("http1.1", bearer()));
        const names = ((await res.json()) as { name: string }[]).map((c) => c.name);
        return names.includes(name) ? true : undefined;
      },
      30_000,
      "the test container in the panel's list",
    );
  }, 90_000);

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("is refused without TLS, in words", () => {
    expect(() => parseServeArgs(["--tls", "off", "--http3"], {})).toThrow(ConfigError);
    expect(() => parseServeArgs(["--tls", "off"], { GHOSTPANEL_HTTP3: "1" })).toThrow(/needs TLS/);
    expect(parseServeArgs([], { GHOSTPANEL_HTTP3: "1" }).http3).toBe(true);
    expect(parseServeArgs([], {}).http3).toBe(false);
  });

  it("announces HTTP/3 over HTTP/1.1 with Alt-Svc, and says so at start", async () => {
    const res = await fetch(`${url}/healthz`, over("http1.1"));
    expect(res.status).toBe(200);
    expect(res.headers.get("alt-svc")).toContain(`h3=":${panel.port}"`);
    expect(lines.join("\n")).toContain(`HTTP/3: QUIC on 127.0.0.1:${panel.port} (UDP)`);
  });

  it("serves the UI shell, the API and its refusals over HTTP/3", async () => {
    const health = await fetch(`${url}/healthz`, over("http3"));
    expect((await health.json()).status).toBe("ok");
    expect((await fetch(`${url}/api/v1/envs/local/containers`, over("http3"))).status).toBe(401);
    const list = await fetch(`${url}/api/v1/envs/local/containers`, over("http3", bearer()));
    expect(list.status).toBe(200);
    const names = ((await list.json()) as { name: string }[]).map((c) => c.name);
    expect(names).toContain(name);
    const spec = await fetch(`${url}/api/openapi.json`, over("http3"));
    expect(Object.keys((await spec.json()).paths)).toContain("/api/v1/stream/feed");
  });

  it("streams the WebSocket's frames over HTTP/3 as a feed, and lets the topics go when the client stops", async () => {
    const res = await fetch(
      `${url}/api/v1/stream/feed?topics=containers:local,stats:local`,
      over("http3", bearer()),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.ghostpanel.frames");
    // Decoded as the UI does: the container is in the subscribe keyframe, or comes in a delta when
    // the collector had not read it yet.
    const table = new StatsTable();
    const hasStats = (frames: Frame[]) => {
      const f = frames.at(-1);
      if (f?.t === "stats:local") table.apply(f.k, f.d);
      return table.views().some((v) => v.name === name);
    };
    const frames = await collect(res, hasStats);
    expect(frames[0]).toEqual({ t: "", k: "beat", d: undefined });
    const snapshot = frames.find((f) => f.t === "containers:local" && f.k === "snapshot");
    expect(((snapshot?.d ?? []) as { name: string }[]).map((c) => c.name)).toContain(name);
    expect(frames.find((f) => f.t === "stats:local")?.k).toBe("key");
    expect(table.views().map((v) => v.name)).toContain(name);
    // The feed's connection ended with its body: nothing is left subscribed.
    let open = Number.NaN;
    for (let i = 0; i < 50 && open !== 0; i++) {
      await Bun.sleep(100);
      open = await metric(await (await fetch(`${url}/metrics`, over("http3", bearer()))).text());
    }
    expect(open).toBe(0);
  }, 60_000);

  it("answers a feed without topics 400, a stranger 401, and a cookie from another origin 403", async () => {
    const none = await fetch(`${url}/api/v1/stream/feed`, over("http3", bearer()));
    expect(none.status).toBe(400);
    expect((await fetch(`${url}/api/v1/stream/feed?topics=envs`, over("http3"))).status).toBe(401);
    const foreign = await fetch(
      `${url}/api/v1/stream/feed?topics=envs`,
      over("http3", { cookie, "sec-fetch-site": "same-site" }),
    );
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.code).toBe("cross_origin");
    const ours = await fetch(
      `${url}/api/v1/stream/feed?topics=envs`,
      over("http3", { cookie, "sec-fetch-site": "same-origin" }),
    );
    const frames = await collect(ours, (fs) => fs.some((f) => f.t === "envs"));
    expect(frames.find((f) => f.t === "envs")?.k).toBe("envs");
  });

  it("says why a refused topic is refused, in a frame, as the WebSocket does", async () => {
    const res = await fetch(`${url}/api/v1/stream/feed?topics=nosuch:local`, over("http3", bearer()));
    const frames = await collect(res, (fs) => fs.some((f) => f.k === "error"));
    expect(frames.find((f) => f.k === "error")).toMatchObject({
      t: "nosuch:local",
      d: { code: "unknown_topic" },
    });
  });
});
