import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BoltCompat, startBoltCompat } from "../fixtures/bolt-compat.ts";
import {
  cleanupEngine,
  containerState,
  createContainer,
  docker,
  eventually,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

const BASE = "/api/v1/envs/local/containers";
// The mirror's default for engines without /events (DEFAULT_TIMING.pollMs in src/envs/connection.ts), plus room for a slow machine.
const POLL_MS = 2_000;
const WITHIN_POLL = POLL_MS + 3_000;
// Bolt's stop takes no timeout: a container that ends on SIGTERM keeps it quick (sleep as PID 1 ignores it).
const STOPPABLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

interface ContainerItem {
  id: string;
  name: string;
  state: string;
  image: string;
}

// Bolt's compat API server, reproduced by tests/fixtures/bolt-compat.ts (Bolt itself cannot be
// installed here); its containers are the real engine's.
describe("a Bolt engine, through its Docker-compatible API server", () => {
  let bolt: BoltCompat | undefined;
  let p: TestPanel | undefined;

  beforeAll(async () => {
    bolt = startBoltCompat();
    p = await startTestPanel(["--engine", bolt.url]);
    await eventually(
      async () => ((await p!.api("GET", "/api/v1/envs")).body[0].status === "up" ? true : undefined),
      15_000,
      "Bolt engine up",
    );
  });
  afterAll(async () => {
    const steps = [() => p?.stop(), () => bolt?.stop(), () => cleanupEngine()];
    const results = await Promise.allSettled(steps.map(async (s) => s()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  const list = async () => {
    const res = await p!.api("GET", BASE);
    expect(res.status).toBe(200);
    return res.body as ContainerItem[];
  };
  const find = async (id: string) => (await list()).find((c) => c.id === id);

  it("is detected as Bolt from /version, up, with what it cannot do switched off", async () => {
    const [env] = (await p!.api("GET", "/api/v1/envs")).body;
    expect(env).toMatchObject({ id: "local", kind: "bolt", status: "up", error: null, url: bolt!.url });
    expect(env.facts).toMatchObject({ kind: "bolt", version: "24.0.0-bolt", api_version: "1.43" });
    expect(env.capabilities).toMatchObject({
      events: false,
      logs: false,
      stats: false,
      exec: false,
      pause: false,
      kill: false,
      restart: false,
      rename: false,
      inspect: false,
      networks: false,
      volumes: false,
      queryStrings: false,
      versionedPaths: false,
    });
  });

  it("lists the engine's containers, and a new one within the poll interval", async () => {
    const name = uniqueName("bolt");
    const started = Date.now();
    const id = runContainer(name);
    const item = await eventually(() => find(id), WITHIN_POLL, "container in the Bolt list");
    const tookMs = Date.now() - started;
    expect(tookMs).toBeLessThan(WITHIN_POLL);
    expect(item).toMatchObject({ name, state: "running", image: TEST_IMAGE });
    docker("rm", "-f", id);
    await eventually(
      async () => ((await find(id)) ? undefined : true),
      WITHIN_POLL,
      "removed container gone",
    );
  });

  it("streams the polled list on containers:local", async () => {
    const s = new StreamClient(p!.url, p!.token, ["containers:local"]);
    try {
      await s.open();
      await s.next((f) => f.k === "snapshot");
      const mark = s.frames.length;
      const name = uniqueName("bolt-live");
      const id = runContainer(name);
      const up = await s.next((f) => f.k === "upsert" && f.d.id === id, WITHIN_POLL, mark);
      expect(up.d).toMatchObject({ name, state: "running" });
      docker("rm", "-f", id);
      await s.next((f) => f.k === "remove" && f.d.id === id, WITHIN_POLL, mark);
    } finally {
      s.close();
    }
  });

  it("starts and stops containers through the panel", async () => {
    const name = uniqueName("bolt-act");
    const id = createContainer(name, STOPPABLE);
    expect((await p!.api("POST", `${BASE}/${id}/start`)).status).toBe(204);
    expect(containerState(id)).toBe("running");
    await eventually(() => find(id), WITHIN_POLL, "started container listed");

    // Starting what runs already is no error, and the container stays listed meanwhile.
    expect((await p!.api("POST", `${BASE}/${id}/start`)).status).toBe(204);
    expect((await find(id))?.state).toBe("running");

    expect((await p!.api("POST", `${BASE}/${id}/stop`)).status).toBe(204);
    expect(containerState(id)).toBe("exited");
    // Removing a stopped container takes no options, so Bolt can do it.
    expect((await p!.api("DELETE", `${BASE}/${id}`)).status).toBe(204);
    expect(docker("ps", "-aq", "--filter", `id=${id}`)).toBe("");
    // Bolt lists running containers only (as `docker ps` does without -a).
    await eventually(
      async () => ((await find(id)) ? undefined : true),
      WITHIN_POLL,
      "stopped container gone",
    );
  });

  it("refuses what Bolt cannot do with 400 unsupported, naming the engine", async () => {
    const name = uniqueName("bolt-no");
    const id = runContainer(name);
    await eventually(() => find(id), WITHIN_POLL);
    const cases: [string, string, unknown?][] = [
      ["POST", `${BASE}/${id}/pause`],
      ["POST", `${BASE}/${id}/unpause`],
      ["POST", `${BASE}/${id}/kill`],
      ["POST", `${BASE}/${id}/restart`],
      ["POST", `${BASE}/${id}/rename?name=${name}-2`],
      ["GET", `${BASE}/${id}/logs`],
      ["GET", `${BASE}/${id}`],
      ["POST", `${BASE}/${id}/stop?t=5`],
      ["DELETE", `${BASE}/${id}?force=true`],
      ["POST", BASE, { Image: TEST_IMAGE, name: `${name}-new` }],
    ];
    for (const [method, path, body] of cases) {
      const res = await p!.api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error.code, `${method} ${path}`).toBe("unsupported");
      expect(res.body.error.message, `${method} ${path}`).toMatch(/"local" \(bolt\)/);
    }
    expect(containerState(id)).toBe("running");
  });

  it("never sent Bolt a query string, a /v1.xx path or /_ping", () => {
    const lines = bolt!.requests.map((r) => r.line);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes("?") || /^\S+ \/v\d/.test(l) || l.includes("/_ping"))).toEqual([]);
    expect(bolt!.requests.filter((r) => r.status === 404)).toEqual([]);
    expect(lines).toContain("GET /containers/json");
  });
});

// Keeps the fixture honest: these are the limits REFERENCE.md documents for Bolt's compat server.
describe("the Bolt stand-in itself", () => {
  let bolt: BoltCompat | undefined;
  beforeAll(() => {
    bolt = startBoltCompat();
  });
  afterAll(async () => {
    await bolt?.stop();
    cleanupEngine();
  });

  it("answers only the documented routes, without prefix, query or body, and errors with 400", async () => {
    const base = bolt!.url.replace(/^tcp:/, "http:");
    const call = async (method: string, path: string, body?: string) => {
      const res = await fetch(base + path, { method, body });
      return { status: res.status, text: await res.text() };
    };
    const version = await call("GET", "/version");
    expect(version.status).toBe(200);
    expect(JSON.parse(version.text)).toMatchObject({ Version: "24.0.0-bolt", ApiVersion: "1.43" });
    expect((await call("GET", "/info")).status).toBe(200);
    expect((await call("GET", "/containers/json")).status).toBe(200);
    expect((await call("GET", "/images/json")).status).toBe(200);
    for (const path of [
      "/_ping",
      "/v1.43/version",
      "/containers/json?all=1",
      "/containers/json?",
      "/events",
    ]) {
      expect((await call("GET", path)).status, path).toBe(404);
    }
    const name = uniqueName("bolt-raw");
    const id = createContainer(name, STOPPABLE);
    expect((await call("POST", `/containers/${id}/start?x=1`)).status).toBe(404);
    expect((await call("GET", `/containers/${id}/json`)).status).toBe(404);
    expect((await call("GET", `/containers/${id}/logs`)).status).toBe(404);
    expect((await call("POST", `/containers/${id}/pause`)).status).toBe(404);
    // The body is ignored: a create carries no config, and the runtime's refusal is a 400.
    const create = await call("POST", "/containers/create", JSON.stringify({ Image: TEST_IMAGE }));
    expect(create.status).toBe(400);
    expect((await call("POST", "/containers/no-such-container-xyz/start")).status).toBe(400);
    expect((await call("POST", `/containers/${id}/start`)).status).toBeLessThan(300);
    expect(containerState(id)).toBe("running");
    expect((await call("POST", `/containers/${id}/stop`)).status).toBeLessThan(300);
    expect(containerState(id)).toBe("exited");
    expect((await call("DELETE", `/containers/${id}`)).status).toBeLessThan(300);
    expect(docker("ps", "-aq", "--no-trunc", "--filter", `label=${RUN_LABEL}`)).not.toContain(id);
  });
});
