/**
 * Issue #12 (7c): one API call through an edge agent against the same call straight to the engine,
 * measured in the same run. `bun bench/agent-call.ts [--calls N]`.
 *
 * One panel (dist/ghostpanel, `--tls auto --agent-listen 127.0.0.1:<port>`) and two agents
 * (dist/ghostpanel agent) beside the SAME engine: one over QUIC, one on the WebSocket fallback (its
 * join token names a UDP port where nothing answers, so no QUIC handshake comes and it takes the
 * WebSocket to the HTTPS port). The container inspect route (`GET /api/v1/envs/{env}/containers/{id}`,
 * which asks the engine every time) is called on `local` (the panel's socket) and on each agent's
 * environment, alternating in rounds so all see the same machine load. Prints a table, then one
 * JSON document.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJoinToken, encodeJoinToken } from "../src/agent/join-token.ts";

const BINARY = join(import.meta.dir, "..", "dist", "ghostpanel");
const calls = Number(process.argv[process.argv.indexOf("--calls") + 1] || 400);
const dir = mkdtempSync(join(tmpdir(), "gpbench-agent-"));
const children: ReturnType<typeof Bun.spawn>[] = [];
const freePort = () => {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
};

async function main() {
  const port = freePort();
  const agentPort = freePort();
  writeFileSync(join(dir, "pw"), "bench-password-not-secret\n");
  const panel = Bun.spawn(
    [BINARY, "serve", "--listen", `127.0.0.1:${port}`, "--data", join(dir, "panel"), "--tls", "auto"].concat([
      "--agent-listen",
      `127.0.0.1:${agentPort}`,
      "--admin-password-file",
      join(dir, "pw"),
    ]),
    { stdout: "ignore", stderr: "ignore" },
  );
  children.push(panel);
  const url = `https://127.0.0.1:${port}`;
  // the panel's own self-signed certificate, made at its start
  const fetch = (input: string, init: RequestInit = {}) =>
    globalThis.fetch(input, { ...init, tls: { rejectUnauthorized: false } } as RequestInit);
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await Bun.sleep(50);
  }
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "bench-password-not-secret" }),
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const csrf = /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "";
  const made = await fetch(`${url}/api/v1/tokens`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrf, origin: url, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  const token = ((await made.json()) as { token: string }).token;
  const auth = { authorization: `Bearer ${token}` };
  const joinAs = async (name: string) => {
    const res = await fetch(`${url}/api/v1/agents/join-tokens`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    return ((await res.json()) as { token: string }).token;
  };
  const agentAs = (name: string, token: string) =>
    children.push(
      Bun.spawn([BINARY, "agent", "--panel", url, "--join", token, "--data", join(dir, name)], {
        stdout: "ignore",
        stderr: "ignore",
      }),
    );
  agentAs("bench-edge", await joinAs("bench-edge"));
  const blocked = decodeJoinToken(await joinAs("bench-edge-ws"));
  agentAs("bench-edge-ws", encodeJoinToken({ ...blocked, address: `127.0.0.1:${freePort()}` }));
  const container = Bun.spawnSync([
    "docker",
    "run",
    "-d",
    "--name",
    `gpbench-agent-${process.pid}`,
    "ghostpanel-test/busybox:latest",
    "sleep",
    "600",
  ])
    .stdout.toString()
    .trim();
  const path = (env: string) => `${url}/api/v1/envs/${env}/containers/${container}`;
  for (const env of ["bench-edge", "bench-edge-ws"])
    for (let i = 0; i < 400; i++) {
      const r = await fetch(path(env), { headers: auth });
      await r.arrayBuffer();
      if (r.ok) break;
      await Bun.sleep(100);
    }
  const times: Record<string, number[]> = { local: [], agent: [], ws: [] };
  const once = async (env: string, key: string) => {
    const t0 = performance.now();
    const r = await fetch(path(env), { headers: auth });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${env}: ${r.status}`);
    times[key]!.push(performance.now() - t0);
  };
  for (let i = 0; i < 20; i++)
    await Promise.all([
      once("local", "local"),
      once("bench-edge", "agent"),
      once("bench-edge-ws", "ws"),
    ]).catch(() => {});
  times.local = [];
  times.agent = [];
  times.ws = [];
  for (let round = 0; round < calls / 20; round++) {
    for (let i = 0; i < 10; i++) await once("local", "local");
    for (let i = 0; i < 10; i++) await once("bench-edge", "agent");
    for (let i = 0; i < 10; i++) await once("bench-edge-ws", "ws");
  }
  Bun.spawnSync(["docker", "rm", "-f", container]);
  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const result = {
    calls_each: times.local!.length,
    local_p50_ms: r3(q(times.local!, 0.5)),
    agent_p50_ms: r3(q(times.agent!, 0.5)),
    local_p99_ms: r3(q(times.local!, 0.99)),
    agent_p99_ms: r3(q(times.agent!, 0.99)),
    ws_p50_ms: r3(q(times.ws!, 0.5)),
    ws_p99_ms: r3(q(times.ws!, 0.99)),
  };
  const added = r3(result.agent_p50_ms - result.local_p50_ms);
  console.log("| call: container inspect through the panel | p50 ms | p99 ms |");
  console.log("| --- | --- | --- |");
  console.log(`| local (panel → socket) | ${result.local_p50_ms} | ${result.local_p99_ms} |`);
  console.log(`| agent (panel → QUIC → agent → socket) | ${result.agent_p50_ms} | ${result.agent_p99_ms} |`);
  console.log(
    `| agent on the WebSocket fallback (panel → WSS → agent → socket) | ${result.ws_p50_ms} | ${result.ws_p99_ms} |`,
  );
  console.log(`| added by the agent at p50, QUIC (budget ≤ 2 ms) | ${added} | |`);
  console.log(`| added by the agent at p50, WebSocket | ${r3(result.ws_p50_ms - result.local_p50_ms)} | |`);
  console.log(
    JSON.stringify({
      ...result,
      added_p50_ms: added,
      ratio_p50: r3(result.agent_p50_ms / result.local_p50_ms),
      ws_added_p50_ms: r3(result.ws_p50_ms - result.local_p50_ms),
      ws_ratio_p50: r3(result.ws_p50_ms / result.local_p50_ms),
    }),
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
