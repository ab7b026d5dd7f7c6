import { createPrivateKey, sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./engine.ts";
import { freeLoopbackPort } from "./ports.ts";

/**
 * Debian's docker-registry (distribution 2.8) as a child process on a free loopback port, with its
 * own storage and config in a temporary directory (scripts/setup-engine.sh installs it). The engine
 * treats a registry on 127.0.0.1 as insecure by itself, so plain HTTP pushes and pulls work.
 *
 * - no auth: anyone reads and writes;
 * - "htpasswd": HTTP basic auth against a bcrypt entry made with Bun.password (the registry takes $2b$);
 * - "token": the registry's token auth, with a token server (Bun.serve, loopback) that checks the
 *   same user and password and issues ES256 JWTs whose certificate (x5c) the registry trusts.
 */
export interface TestRegistry {
  /** host:port, as image references name it */
  host: string;
  url: string;
  /** the login that works when auth is on */
  username: string;
  password: string;
  /** requests the token server answered (token auth only) */
  tokenRequests: number;
  stop(): Promise<void>;
}

export async function startRegistry(options: { auth?: "htpasswd" | "token" } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "gptest-registry-"));
  const port = await freeLoopbackPort();
  const host = `127.0.0.1:${port}`;
  const username = "gptest-user";
  const password = `pw-${crypto.randomUUID()}`;
  let tokenServer: ReturnType<typeof Bun.serve> | undefined;
  const counter = { tokenRequests: 0 };
  let auth = "";
  if (options.auth === "htpasswd") {
    const hash = await Bun.password.hash(password, { algorithm: "bcrypt", cost: 5 });
    writeFileSync(join(dir, "htpasswd"), `${username}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: gptest-realm\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (options.auth === "token") {
    tokenServer = startTokenServer(dir, username, password, `gptest-${port}`, counter);
    auth =
      `auth:\n  token:\n    realm: http://127.0.0.1:${tokenServer.port}/token\n` +
      `    service: gptest-${port}\n    issuer: gptest-issuer\n    rootcertbundle: ${join(dir, "token-cert.pem")}\n`;
  }
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n` +
      `    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${host}\n  secret: ${crypto.randomUUID()}\n${auth}`,
  );
  const proc = Bun.spawn(["docker-registry", "serve", join(dir, "config.yml")], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = async () => {
    proc.kill();
    await proc.exited;
    await tokenServer?.stop(true);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`docker-registry exited: ${await new Response(proc.stderr).text()}`);
        const res = await fetch(`http://${host}/v2/`);
        return res.status === 200 || res.status === 401 ? true : undefined;
      },
      10_000,
      `docker-registry on ${host}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    url: `http://${host}`,
    username,
    password,
    get tokenRequests() {
      return counter.tokenRequests;
    },
    stop,
  };
}

/**
 * The token server of distribution's token auth: `GET /token?service=&scope=repository:x:pull,push`
 * with basic credentials answers a JWT granting what was asked; without valid credentials, 401.
 */
function startTokenServer(
  dir: string,
  username: string,
  password: string,
  service: string,
  counter: { tokenRequests: number },
): ReturnType<typeof Bun.serve> {
  const made = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, "token-key.pem"),
      "-out",
      join(dir, "token-cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=gptest-token-issuer",
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (made.exitCode !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
  const key = createPrivateKey(readFileSync(join(dir, "token-key.pem")));
  const certDer = new X509Certificate(readFileSync(join(dir, "token-cert.pem"))).raw.toString("base64");
  const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      counter.tokenRequests++;
      const url = new URL(req.url);
      const basic = req.headers.get("authorization")?.match(/^Basic (.+)$/)?.[1];
      const [u, p] = basic ? Buffer.from(basic, "base64").toString().split(/:(.*)/s) : [];
      if (u !== username || p !== password)
        return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "wrong login" }] }, { status: 401 });
      const access = url.searchParams.getAll("scope").map((scope) => {
        const [type = "", ...rest] = scope.split(":");
        const actions = rest.pop() ?? "";
        return { type, name: rest.join(":"), actions: actions.split(",") };
      });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: "gptest-issuer",
        sub: u,
        aud: url.searchParams.get("service") ?? service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      };
      const signing = `${b64url({ typ: "JWT", alg: "ES256", x5c: [certDer] })}.${b64url(claims)}`;
      const signature = sign("sha256", Buffer.from(signing), { key, dsaEncoding: "ieee-p1363" });
      const token = `${signing}.${signature.toString("base64url")}`;
      return Response.json({
        token,
        access_token: token,
        expires_in: 300,
        issued_at: new Date().toISOString(),
      });
    },
  });
}

/**
 * A Docker CLI configuration of its own (`docker --config <dir>`), so that a login for a test
 * registry never touches the machine's ~/.docker/config.json, which other tests share.
 */
export function dockerConfigFor(registry: TestRegistry): { dir: string; args: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "gptest-dockercfg-"));
  const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  return { dir, args: ["--config", dir], remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `docker …` without blocking this process: a token server in this process must answer the
 * engine while a push or pull waits on it (Bun.spawnSync would hold it still).
 */
export async function dockerAsync(...args: string[]): Promise<string> {
  const proc = Bun.spawn(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${err.trim()}`);
  return out.trim();
}

/**
 * A loopback HTTP proxy in front of a test registry that records each request (method, path,
 * user agent), so that a test can count how often the panel asked the registry. Requests and
 * answers pass unchanged; the registry's absolute Location headers may send a client on to the
 * registry itself, which is fine for pushes.
 */
export function countingProxy(registry: TestRegistry): {
  host: string;
  url: string;
  seen: { method: string; path: string; agent: string }[];
  /** While true, requests are taken and never answered (a registry that hangs), until it is false again or the proxy stops. */
  stall: boolean;
  stop(): Promise<void>;
} {
  const seen: { method: string; path: string; agent: string }[] = [];
  const held: (() => void)[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname, agent: req.headers.get("user-agent") ?? "" });
      if (proxy.stall) {
        // A registry that hangs keeps the connection open: Bun's 10 s idle cut would reset it, and
        // the panel's fetch would then try again on a new one.
        srv.timeout(req, 0);
        await new Promise<void>((resolve) => held.push(resolve));
        return new Response(null, { status: 503 });
      }
      const headers = new Headers(req.headers);
      headers.delete("host");
      const answer = await fetch(`${registry.url}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        redirect: "manual",
      });
      const out = new Headers(answer.headers);
      out.delete("content-encoding");
      return new Response(req.method === "HEAD" ? null : await answer.arrayBuffer(), {
        status: answer.status,
        headers: out,
      });
    },
  });
  const host = `127.0.0.1:${server.port}`;
  let stalled = false;
  const proxy = {
    host,
    url: `http://${host}`,
    seen,
    get stall() {
      return stalled;
    },
    set stall(on: boolean) {
      stalled = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    stop: () => {
      for (const release of held.splice(0)) release();
      return server.stop(true);
    },
  };
  return proxy;
}
