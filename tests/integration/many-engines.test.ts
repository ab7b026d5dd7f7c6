import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { makeTlsFiles, SecondEngine, type TlsFiles } from "../helpers/second-engine.ts";
import { StreamClient } from "../helpers/stream.ts";

interface EnvItem {
  id: string;
  name: string;
  status: string;
  url: string;
  tls: boolean;
  tags: string[];
  last_seen: number | null;
  role?: string;
}

/** Runs every cleanup step even when one fails, then reports the first failure. */
async function cleanup(...steps: (() => unknown)[]): Promise<void> {
  const results = await Promise.allSettled(steps.map(async (s) => s()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

// Two private dockerd (each in its own network namespace, with its own data root), added to one
// panel beside the local engine: one on its unix socket (through a proxy that can take it away), one
// over TCP with TLS client certificates. Everything is checked against what the engines did.
describe("many engines: two private dockerd in one panel", () => {
  let unixEngine: SecondEngine | undefined;
  let tlsEngine: SecondEngine | undefined;
  let proxy: EngineProxy | undefined;
  let certDir = "";
  let certs: TlsFiles;
  let pem: { ca: string; cert: string; key: string };
  let p: TestPanel | undefined;
  const engines = () => ({ edgeu: unixEngine!, edget: tlsEngine! });

  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(p!.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // kept as text
    }
    return { status: res.status, body: parsed };
  };
  const envOf = async (id: string) =>
    ((await p!.api("GET", "/api/v1/envs")).body as EnvItem[]).find((e) => e.id === id);
  const whenStatus = (id: string, status: "up" | "down", timeoutMs = 30_000) =>
    eventually(
      async () => {
        const e = await envOf(id);
        return e?.status === status ? e : undefined;
      },
      timeoutMs,
      `environment ${id} ${status}`,
    );
  /** A container made and started through the panel on one environment; its id. */
  const runThroughPanel = async (env: string, name: string, token = p!.token) => {
    const made = await as(token, "POST", `/api/v1/envs/${env}/containers`, {
      name,
      Image: TEST_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: { "ghostpanel.test": RUN_LABEL.split("=")[1] },
      HostConfig: { NetworkMode: "none" },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body.id as string;
    expect((await as(token, "POST", `/api/v1/envs/${env}/containers/${id}/start`)).status).toBe(204);
    return id;
  };

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), "gptest-many-"));
    certs = makeTlsFiles(certDir);
    const read = (f: string) => readFileSync(join(certs.clientDir, f), "utf8");
    pem = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
    [unixEngine, tlsEngine] = await Promise.all([
      SecondEngine.start(),
      SecondEngine.start({ tcp: true, tls: certs.server }),
    ]);
    unixEngine.loadImage();
    tlsEngine.loadImage();
    proxy = new EngineProxy(join(certDir, "edgeu.sock"), unixEngine.socketPath);
    await proxy.start();
    // Its own data directory, so that a restart of the panel can find it again (the last test).
    p = await startTestPanel([], true, { dataDir: join(certDir, "data") });
    const u = await p.api("POST", "/api/v1/envs", { name: "edgeu", url: proxy.url, tags: ["edge", "unix"] });
    expect(u.status, JSON.stringify(u.body)).toBe(201);
    const t = await p.api("POST", "/api/v1/envs", { name: "edget", url: tlsEngine.tcpUrl, tls: pem });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    await Promise.all([whenStatus("edgeu", "up"), whenStatus("edget", "up")]);
  }, 120_000);

  afterAll(async () => {
    await cleanup(
      () => p?.stop(),
      () => proxy?.stop(),
      () => unixEngine?.stop(),
      () => tlsEngine?.stop(),
      () => rmSync(certDir, { recursive: true, force: true }),
    );
  }, 60_000);

  it("lists, acts and reads stats on each engine, each its own", async () => {
    for (const [env, engine] of Object.entries(engines())) {
      const name = uniqueName(`many-${env}`);
      const id = await runThroughPanel(env, name);
      expect(engine.docker("inspect", "-f", "{{.State.Status}}", id)).toBe("running");
      const listed = await eventually(async () => {
        const list = (await p!.api("GET", `/api/v1/envs/${env}/containers`)).body as {
          id: string;
          state: string;
        }[];
        return list.find((c) => c.id === id && c.state === "running");
      });
      expect(listed).toBeTruthy();
      // Not on the local engine, nor on the other one.
      for (const other of ["local", ...Object.keys(engines()).filter((e) => e !== env)]) {
        const theirs = (await p!.api("GET", `/api/v1/envs/${other}/containers`)).body as { id: string }[];
        expect(theirs.map((c) => c.id)).not.toContain(id);
      }
      const stats = await eventually(async () => {
        const res = await p!.api("GET", `/api/v1/envs/${env}/stats`);
        return (res.body as { id: string; mem_usage: number }[]).find((s) => s.id === id && s.mem_usage > 0);
      }, 20_000);
      expect(stats).toBeTruthy();
      const overview = await eventually(async () => {
        const res = await p!.api("GET", "/api/v1/overview");
        const mine = (
          res.body as { id: string; running: number; figures: boolean; mem_usage: number }[]
        ).find((s) => s.id === env);
        return mine && mine.running >= 1 && mine.figures && mine.mem_usage > 0 ? mine : undefined;
      }, 20_000);
      expect(overview.running).toBe(Number(engine.docker("ps", "-q").split("\n").filter(Boolean).length));
      expect((await p!.api("POST", `/api/v1/envs/${env}/containers/${id}/stop?t=1`)).status).toBe(204);
      expect(engine.docker("inspect", "-f", "{{.State.Status}}", id)).toBe("exited");
      expect((await p!.api("DELETE", `/api/v1/envs/${env}/containers/${id}?force=true`)).status).toBe(204);
      expect(engine.docker("ps", "-aq", "--no-trunc")).not.toContain(id);
    }
  }, 90_000);

  it("renames and tags an engine: the id stays, every subscriber of envs sees it live, the audit keeps no values", async () => {
    const s = new StreamClient(p!.url, p!.token, ["envs"]);
    try {
      await s.open();
      await s.next((f) => f.t === "envs");
      const mark = s.frames.length;
      const res = await p!.api("PATCH", "/api/v1/envs/edgeu", {
        name: "Edge-Unix",
        tags: ["edge", "eu-west"],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        id: "edgeu",
        name: "Edge-Unix",
        tags: ["edge", "eu-west"],
        status: "up",
      });
      const frame = await s.next(
        (f) => f.t === "envs" && f.d.some((e: EnvItem) => e.id === "edgeu" && e.name === "Edge-Unix"),
        5_000,
        mark,
      );
      expect(frame.d.find((e: EnvItem) => e.id === "edgeu").tags).toEqual(["edge", "eu-west"]);
    } finally {
      s.close();
    }
    // The same engine behind the id: its containers are still there.
    expect((await p!.api("GET", "/api/v1/envs/edgeu/containers")).status).toBe(200);
    // The local engine is renamed and tagged too, and keeps it across a restart of the panel.
    expect((await p!.api("PATCH", "/api/v1/envs/local", { name: "home", tags: ["main"] })).status).toBe(200);
    expect(await envOf("local")).toMatchObject({ name: "home", tags: ["main"], status: "up" });

    const bad: [string, unknown, number, RegExp][] = [
      ["/api/v1/envs/edgeu", { nickname: "x" }, 400, /nickname/],
      ["/api/v1/envs/edgeu", { tags: ["ok", "ok"] }, 400, /each tag once/],
      ["/api/v1/envs/edgeu", { tags: ["no spaces"] }, 400, /tag/],
      ["/api/v1/envs/edgeu", { tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, 400, /tags/],
      ["/api/v1/envs/edgeu", { name: "EDGET" }, 409, /exists/],
      ["/api/v1/envs/edgeu", { name: "bad name" }, 400, /name/],
      ["/api/v1/envs/edgeu", {}, 400, /nothing to change/],
      ["/api/v1/envs/local", { url: "unix:///var/run/docker.sock" }, 400, /command line/],
      ["/api/v1/envs/edgeu", { tls: pem }, 400, /tcp:\/\/ or https:\/\//],
      ["/api/v1/envs/edget", { url: "ftp://example" }, 400, /./],
      ["/api/v1/envs/nosuch", { name: "x" }, 404, /nosuch/],
    ];
    for (const [path, body, status, message] of bad) {
      const res = await p!.api("PATCH", path, body);
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
      expect(res.body.error.message).toMatch(message);
    }
    // Nothing refused changed anything.
    expect(await envOf("edgeu")).toMatchObject({ name: "Edge-Unix", tags: ["edge", "eu-west"] });
  }, 30_000);

  it("points an engine at new TLS material (sealed, never returned, never audited) and back", async () => {
    // A client certificate from another CA: the engine refuses it, and the panel says the engine is down.
    const otherDir = mkdtempSync(join(tmpdir(), "gptest-many-other-"));
    try {
      const other = makeTlsFiles(otherDir);
      const wrong = {
        ca: pem.ca,
        cert: readFileSync(join(other.clientDir, "cert.pem"), "utf8"),
        key: readFileSync(join(other.clientDir, "key.pem"), "utf8"),
      };
      const res = await p!.api("PATCH", "/api/v1/envs/edget", { tls: wrong });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(JSON.stringify(res.body)).not.toContain("PRIVATE KEY");
      const down = await whenStatus("edget", "down");
      expect(down.tls).toBe(true);
      expect((await p!.api("PATCH", "/api/v1/envs/edget", { tls: pem })).status).toBe(200);
      await whenStatus("edget", "up");
      const keyLine = pem.key.split("\n")[1]!;
      const wrongLine = wrong.key.split("\n")[1]!;
      // Neither key is anywhere in the database in the clear (the vault seals it), nor in the audit log.
      const db = new Database(join(p!.dataDir, "ghostpanel.db"), { readonly: true });
      try {
        const dump =
          JSON.stringify(db.query("SELECT * FROM secrets").all()) +
          JSON.stringify(db.query("SELECT * FROM environments").all());
        expect(dump).not.toContain(keyLine);
        expect(dump).not.toContain(wrongLine);
        const audit = db
          .query("SELECT action, target, detail FROM audit_log WHERE action LIKE 'PATCH %'")
          .all() as { action: string; target: string; detail: string }[];
        expect(audit.some((a) => a.target.includes("changed=tls"))).toBe(true);
        expect(JSON.stringify(audit)).not.toMatch(/PRIVATE KEY|BEGIN/);
        expect(JSON.stringify(audit)).not.toContain(keyLine);
      } finally {
        db.close();
      }
      expect(JSON.stringify((await p!.api("GET", "/api/v1/envs")).body)).not.toContain("PRIVATE KEY");
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  }, 90_000);

  it("gives teams whole engines: a role there, and nothing of them to anyone else", async () => {
    const user = async (username: string, role: string) => {
      const res = await p!.api("POST", "/api/v1/users", { username, password: "many-password", role });
      expect(res.status).toBe(201);
      return {
        id: res.body.id as number,
        token: await tokenFor(p!.url, { username, password: "many-password" }, "t"),
      };
    };
    const team = async (name: string, members: number[], resources: unknown[]) => {
      const made = await p!.api("POST", "/api/v1/teams", { name });
      expect(made.status).toBe(201);
      const put = await p!.api("PUT", `/api/v1/teams/${made.body.id}`, { members, resources });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      return made.body.id as number;
    };
    // watcher: an operator elsewhere, a viewer on edgeu; runner: a viewer elsewhere, an operator on edget;
    // outsider: an operator whose team owns a labelled container on edgeu, but not the engine.
    const watcher = await user("many-watcher", "operator");
    const runner = await user("many-runner", "viewer");
    const outsider = await user("many-outsider", "operator");
    await team("watchers", [watcher.id], [{ env: "edgeu", kind: "env", role: "viewer" }]);
    const runners = await team("runners", [runner.id], [{ env: "edget", kind: "env", role: "operator" }]);
    await team("outsiders", [outsider.id], []);
    expect(
      (
        await p!.api("PUT", `/api/v1/teams/${runners}`, {
          resources: [{ env: "edget", kind: "container", ref: "x", role: "viewer" }],
        })
      ).status,
    ).toBe(400);

    const onU = unixEngine!.docker(
      "run",
      "-d",
      "--name",
      uniqueName("many-u"),
      "--label",
      RUN_LABEL,
      "--label",
      "ghostpanel.team=outsiders",
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    const onT = tlsEngine!.docker(
      "run",
      "-d",
      "--name",
      uniqueName("many-t"),
      "--label",
      RUN_LABEL,
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    await eventually(async () => {
      const u = (await p!.api("GET", "/api/v1/envs/edgeu/containers")).body as { id: string }[];
      const t = (await p!.api("GET", "/api/v1/envs/edget/containers")).body as { id: string }[];
      return u.some((c) => c.id === onU) && t.some((c) => c.id === onT) ? true : undefined;
    });

    const envIds = async (token: string) =>
      ((await as(token, "GET", "/api/v1/envs")).body as EnvItem[]).map((e) => [e.id, e.role]);
    expect(await envIds(watcher.token)).toEqual([
      ["local", "operator"],
      ["edgeu", "viewer"],
    ]);
    expect(await envIds(runner.token)).toEqual([
      ["local", "viewer"],
      ["edget", "operator"],
    ]);
    expect(await envIds(outsider.token)).toEqual([["local", "operator"]]);

    // watcher sees everything on edgeu, and acts on nothing there.
    const uList = (await as(watcher.token, "GET", "/api/v1/envs/edgeu/containers")).body as { id: string }[];
    expect(uList.map((c) => c.id)).toContain(onU);
    expect((await as(watcher.token, "POST", `/api/v1/envs/edgeu/containers/${onU}/stop`)).status).toBe(403);
    expect(unixEngine!.docker("inspect", "-f", "{{.State.Status}}", onU)).toBe("running");
    // runner, a viewer anywhere else, operates everything on edget: the engine did stop it.
    expect((await as(runner.token, "POST", `/api/v1/envs/edget/containers/${onT}/stop?t=1`)).status).toBe(
      204,
    );
    expect(tlsEngine!.docker("inspect", "-f", "{{.State.Status}}", onT)).toBe("exited");
    expect((await as(runner.token, "POST", `/api/v1/envs/edget/containers/${onT}/start`)).status).toBe(204);
    // ...and still nothing on the local engine it has no grant on.
    expect((await as(runner.token, "POST", "/api/v1/envs/local/containers", {})).status).toBe(403);

    // Nothing of an engine given to other teams: not the engine, its lists, figures, logs or topics,
    // though the outsider's team label is on a container there.
    for (const [token, env, id] of [
      [outsider.token, "edgeu", onU],
      [watcher.token, "edget", onT],
      [runner.token, "edgeu", onU],
    ] as const) {
      for (const path of [
        `/api/v1/envs/${env}`,
        `/api/v1/envs/${env}/containers`,
        `/api/v1/envs/${env}/containers/${id}`,
        `/api/v1/envs/${env}/containers/${id}/logs?tail=5`,
        `/api/v1/envs/${env}/stats`,
        `/api/v1/envs/${env}/networks`,
        `/api/v1/envs/${env}/images`,
      ]) {
        const res = await as(token, "GET", path);
        expect([403, 404], `${env} ${path}: ${res.status}`).toContain(res.status);
      }
      expect(
        (await as(token, "POST", `/api/v1/envs/${env}/containers/${id}/stop`)).status,
      ).toBeGreaterThanOrEqual(403);
      const overview = (await as(token, "GET", "/api/v1/overview")).body as { id: string }[];
      expect(overview.map((s) => s.id)).not.toContain(env);
      const health = (await as(token, "GET", "/healthz")).body as { engines: { id: string }[] };
      expect(health.engines.map((e) => e.id)).not.toContain(env);
      const topics = [
        `containers:${env}`,
        `stats:${env}`,
        `logs:${env}:${id}`,
        `events:${env}`,
        `images:${env}`,
      ];
      const client = new StreamClient(p!.url, token, ["envs", ...topics]);
      try {
        await client.open();
        const listed = await client.next((f) => f.t === "envs");
        expect(listed.d.map((e: EnvItem) => e.id)).not.toContain(env);
        for (const t of topics) {
          const first = await client.next((f) => f.t === t, 5_000);
          expect(first.k, t).toBe("error");
        }
      } finally {
        client.close();
      }
    }
    // Both engines stay running everything they ran.
    expect(unixEngine!.docker("inspect", "-f", "{{.State.Status}}", onU)).toBe("running");

    // A token the runner limits to edget still works there, and reaches nothing else.
    const limited = await as(runner.token, "POST", "/api/v1/tokens", { name: "edget only", envs: ["edget"] });
    expect(limited.status, JSON.stringify(limited.body)).toBe(201);
    const lt = limited.body.token as string;
    expect((await as(lt, "GET", "/api/v1/envs/edget/containers")).status).toBe(200);
    expect((await as(lt, "POST", `/api/v1/envs/edget/containers/${onT}/restart?t=1`)).status).toBe(204);
    expect((await as(lt, "GET", "/api/v1/envs/local/containers")).status).toBe(403);
    expect(((await as(lt, "GET", "/api/v1/envs")).body as EnvItem[]).map((e) => e.id)).toEqual(["edget"]);
  }, 90_000);

  it("shows an engine that stops answering as down, with when it was last seen, and up again when it returns", async () => {
    const before = Date.now();
    await proxy!.stop();
    const down = await whenStatus("edgeu", "down");
    expect(down.last_seen).not.toBeNull();
    expect(down.last_seen!).toBeGreaterThan(before - 60_000);
    expect(down.last_seen!).toBeLessThanOrEqual(Date.now());
    const summary = (
      (await p!.api("GET", "/api/v1/overview")).body as { id: string; figures: boolean }[]
    ).find((s) => s.id === "edgeu");
    expect(summary?.figures).toBe(false);
    await proxy!.start();
    const up = await whenStatus("edgeu", "up", 40_000);
    expect(up.last_seen!).toBeGreaterThanOrEqual(down.last_seen!);
  }, 90_000);

  it("removes an engine: gone from the list, its sealed material and its teams' grants with it", async () => {
    const res = await p!.api("DELETE", "/api/v1/envs/edget");
    expect(res.status).toBe(204);
    expect(await envOf("edget")).toBeUndefined();
    expect((await p!.api("GET", "/api/v1/envs/edget/containers")).status).toBe(404);
    const teams = (await p!.api("GET", "/api/v1/teams")).body as { resources: { env: string }[] }[];
    expect(teams.flatMap((t) => t.resources).filter((r) => r.env === "edget")).toEqual([]);
    const db = new Database(join(p!.dataDir, "ghostpanel.db"), { readonly: true });
    try {
      expect(db.query("SELECT owner FROM secrets WHERE owner LIKE 'env:edget:%'").all()).toEqual([]);
    } finally {
      db.close();
    }
    // The engine itself is untouched.
    expect(tlsEngine!.docker("ps", "-q").length).toBeGreaterThan(0);
    expect((await p!.api("DELETE", "/api/v1/envs/local")).status).toBe(400);
  }, 30_000);

  it("keeps names, tags and last-seen times across a restart of the panel", async () => {
    const dataDir = p!.dataDir;
    await p!.stop();
    p = await startTestPanel([], true, { dataDir });
    const list = (await p.api("GET", "/api/v1/envs")).body as EnvItem[];
    expect(list.map((e) => [e.id, e.name, e.tags])).toEqual([
      ["local", "home", ["main"]],
      ["edgeu", "Edge-Unix", ["edge", "eu-west"]],
    ]);
    expect(list.find((e) => e.id === "edgeu")?.last_seen).not.toBeNull();
  }, 60_000);
});
