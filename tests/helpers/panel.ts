import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServeArgs } from "../../src/server/config.ts";
import { type RunningPanel, startPanel } from "../../src/server/serve.ts";

export const ADMIN = { username: "admin", password: "correct-horse-battery" };

export interface TestPanel {
  url: string;
  dataDir: string;
  cookie: string;
  token: string;
  panel: RunningPanel;
  /** Calls the API as the admin (bearer token unless `auth` says otherwise); parses JSON answers. */
  api(
    method: string,
    path: string,
    body?: unknown,
    auth?: "token" | "cookie" | "none",
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export interface TestPanelOptions {
  /**
   * Run on this data directory instead of a fresh one (to restart a panel on the data another one
   * left). The caller owns it: stop() leaves it in place. With `setup`, an admin that exists already
   * (from the earlier panel) is logged in instead of created.
   */
  dataDir?: string;
}

/** A panel in this process, from source, on a free loopback port, with its own data directory. */
export async function startTestPanel(
  extraArgs: string[] = [],
  setup = true,
  options: TestPanelOptions = {},
): Promise<TestPanel> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "gptest-data-"));
  const config = parseServeArgs(
    ["--listen", "127.0.0.1:0", "--data", dataDir, "--tls", "off", ...extraArgs],
    {
      GHOSTPANEL_ENGINE: process.env.GHOSTPANEL_TEST_ENGINE,
    },
  );
  const panel = await startPanel(config, "test", () => {});
  // With --tls auto its own self-signed certificate: trusted here by being the one it made.
  const url = `${panel.tls ? "https" : "http"}://127.0.0.1:${panel.port}`;
  const fetch = (input: string, init: RequestInit = {}) =>
    globalThis.fetch(
      input,
      panel.tls ? ({ ...init, tls: { rejectUnauthorized: false } } as RequestInit) : init,
    );
  const t: TestPanel = {
    url,
    dataDir,
    cookie: "",
    token: "",
    panel,
    async api(method, path, body, auth = "token") {
      const headers: Record<string, string> = {};
      if (auth === "token" && t.token) headers.authorization = `Bearer ${t.token}`;
      if (auth === "cookie" && t.cookie) {
        headers.cookie = t.cookie;
        // What the UI does: the CSRF cookie's value goes back as a header on changes.
        const csrf = /(?:^|;\s*)gp_csrf=([^;]+)/.exec(t.cookie)?.[1];
        if (csrf && method !== "GET") headers["x-csrf-token"] = csrf;
      }
      let payload: string | undefined;
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        payload = typeof body === "string" ? body : JSON.stringify(body);
      }
      const res = await fetch(url + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: kept as text for the assertion to show
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await panel.stop();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (setup) {
    const post = (path: string) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ADMIN),
      });
    let res = await post("/api/v1/setup");
    if (res.status === 409 && !ownsDataDir) {
      res = await post("/api/v1/auth/login");
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    } else if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
    t.cookie = sessionCookies(res);
    const tok = await t.api("POST", "/api/v1/tokens", { name: "tests" }, "cookie");
    t.token = tok.body.token;
  }
  return t;
}

/** The session and CSRF cookies a login or setup answer set, as one Cookie header. */
export function sessionCookies(res: { headers: Headers }): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0]!)
    .join("; ");
}

/**
 * Logs in (or, with `setup`, creates the first admin) as the UI does and makes an API token with
 * that session: the cookie plus the CSRF token it came with. Returns the token.
 */
export async function tokenFor(
  url: string,
  credentials: { username: string; password: string },
  name: string,
  how: "login" | "setup" = "login",
): Promise<string> {
  // A test panel with --tls auto: its own self-signed certificate, as startTestPanel trusts it.
  const tls = url.startsWith("https:") ? { tls: { rejectUnauthorized: false } } : {};
  const started = await fetch(`${url}/api/v1/${how === "setup" ? "setup" : "auth/login"}`, {
    ...tls,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  if (!started.ok) throw new Error(`${how}: ${started.status} ${await started.text()}`);
  const cookie = sessionCookies(started);
  const made = await fetch(`${url}/api/v1/tokens`, {
    ...tls,
    method: "POST",
    headers: {
      cookie,
      "x-csrf-token": /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "",
      "content-type": "application/json",
    },
    body: JSON.stringify({ name }),
  });
  if (made.status !== 201) throw new Error(`token: ${made.status} ${await made.text()}`);
  return ((await made.json()) as { token: string }).token;
}
