import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENGINE_URL } from "./engine.ts";
import { type Child, firstAnswer, INSECURE_TLS, start, type Target } from "./process.ts";
import { freePort } from "./util.ts";

export const ADMIN = { username: "admin", password: "bench-password-not-secret" };

export interface Panel {
  child: Child;
  url: string;
  token: string;
  /** An authenticated API call; throws on a non-2xx answer. */
  api(path: string, init?: RequestInit): Promise<unknown>;
}

export interface PanelOptions {
  target: Target;
  dataDir: string;
  tls: "off" | "auto";
  /** Where the password file and the log go. */
  workDir: string;
  /** The engine (the bench's socket unless told otherwise). */
  engineUrl?: string;
  /** more of `serve`'s options (`--agent-listen …`) */
  args?: string[];
}

/** The command line of a panel on 127.0.0.1:`port` against the bench's engine. */
export function serveCommand(
  target: Target,
  port: number,
  dataDir: string,
  tls: "off" | "auto",
  engineUrl = ENGINE_URL,
): string[] {
  return [
    ...target.command,
    "serve",
    "--listen",
    `127.0.0.1:${port}`,
    "--data",
    dataDir,
    "--engine",
    engineUrl,
    "--tls",
    tls,
  ];
}

/** Logs the bench admin (or another user) in; returns the session and CSRF cookies and the CSRF token. */
export async function login(
  url: string,
  user: { username: string; password: string } = ADMIN,
): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    ...INSECURE_TLS,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0]!)
    .join("; ");
  return { cookie, csrf: /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "" };
}

/** Starts a panel on a free loopback port, creates the admin from a file, logs in and makes an API token. */
export async function startPanel(o: PanelOptions): Promise<Panel> {
  const port = freePort();
  const passwordFile = join(o.workDir, "admin-password");
  writeFileSync(passwordFile, `${ADMIN.password}\n`, { mode: 0o600 });
  const child = start(
    [
      ...serveCommand(o.target, port, o.dataDir, o.tls, o.engineUrl),
      "--admin-password-file",
      passwordFile,
      ...(o.args ?? []),
    ],
    join(o.workDir, `panel-${port}.log`),
  );
  const url = `${o.tls === "off" ? "http" : "https"}://127.0.0.1:${port}`;
  await firstAnswer(child, `${url}/healthz`, 20_000, 10);

  const { cookie, csrf } = await login(url);
  const tok = await fetch(`${url}/api/v1/tokens`, {
    ...INSECURE_TLS,
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
    body: JSON.stringify({ name: "bench" }),
    signal: AbortSignal.timeout(10_000),
  });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${await tok.text()}`);
  const { token } = (await tok.json()) as { token: string };

  return panelAt(child, url, token);
}

/** A Panel for a running panel process whose API token is known (a seeded data dir). */
export function panelAt(child: Child, url: string, token: string): Panel {
  return {
    child,
    url,
    token,
    async api(path, init = {}) {
      const res = await fetch(`${url}${path}`, {
        ...INSECURE_TLS,
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`panel ${path}: ${res.status} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : undefined;
    },
  };
}

interface Health {
  engines?: { id: string; status: string }[];
}

export function engineUp(healthBody: string): boolean {
  const h = JSON.parse(healthBody) as Health;
  return h.engines?.find((e) => e.id === "local")?.status === "up";
}

/** Waits until /healthz says the local engine is up and the panel lists `count` containers labelled `label`. */
export async function waitForContainers(panel: Panel, label: string, count: number, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  let seen = -1;
  while (performance.now() < deadline) {
    try {
      const health = await fetch(`${panel.url}/healthz`, {
        ...INSECURE_TLS,
        signal: AbortSignal.timeout(2_000),
      });
      if (engineUp(await health.text())) {
        const list = (await panel.api(
          `/api/v1/envs/local/containers?label=${encodeURIComponent(label)}`,
        )) as unknown[];
        seen = list.length;
        if (seen === count) return;
      }
    } catch {
      // still starting
    }
    await Bun.sleep(100);
  }
  throw new Error(`the panel listed ${seen} of ${count} containers after ${timeoutMs} ms`);
}
