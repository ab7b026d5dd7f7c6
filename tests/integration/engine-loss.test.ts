import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupEngine, docker, eventually, PREFIX, runContainer, uniqueName } from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

// The proxy stands between the panel and the real engine: closing it is, for the panel, the engine
// going away (socket gone, connections cut), and reopening it is the engine coming back.
describe("engine loss and return", () => {
  let p: TestPanel;
  let proxy: EngineProxy;

  beforeAll(async () => {
    proxy = new EngineProxy(`/tmp/${PREFIX}loss.sock`);
    await proxy.start();
    p = await startTestPanel(["--engine", proxy.url]);
  });
  afterAll(async () => {
    await p.stop();
    await proxy.stop();
    cleanupEngine();
  });

  const engineStatus = async () => (await p.api("GET", "/healthz")).body.engines[0];

  it("keeps running, reports the engine down, and resyncs what changed while it was away", async () => {
    await eventually(async () => ((await engineStatus()).status === "up" ? true : undefined));
    const s = new StreamClient(p.url, p.token, ["envs", "containers:local"]);
    await s.open();
    await s.next((f) => f.k === "snapshot");

    await proxy.stop();
    const down = await eventually(async () => {
      const e = await engineStatus();
      return e.status === "down" ? e : undefined;
    });
    expect(down.error).toBeTruthy();
    await s.next((f) => f.t === "envs" && f.d[0].status === "down");
    const list = await p.api("GET", "/api/v1/envs/local/containers");
    expect(list.status).toBe(200);
    const action = await p.api("POST", "/api/v1/envs/local/containers/anything/start");
    expect(action.status).toBe(503);
    expect(action.body.error.code).toBe("engine_unreachable");

    // Changed behind the panel's back while it could not see the engine.
    const name = uniqueName("while-away");
    const id = runContainer(name);
    const mark = s.frames.length;
    await proxy.start();
    await eventually(
      async () => ((await engineStatus()).status === "up" ? true : undefined),
      20_000,
      "engine up again",
    );
    // Only what differs from the panel's last view is told again: here, the one made while away.
    await s.next((f) => f.t === "containers:local" && f.k === "upsert" && f.d.id === id, 10_000, mark);
    await s.next((f) => f.t === "envs" && f.d[0].status === "up", 5_000, mark);
    const after = (await p.api("GET", "/api/v1/envs/local/containers")).body;
    expect(after.map((c: { name: string }) => c.name)).toContain(name);
    docker("rm", "-f", id);
    await eventually(async () => {
      const l = (await p.api("GET", "/api/v1/envs/local/containers")).body;
      return l.some((c: { id: string }) => c.id === id) ? undefined : true;
    });
    s.close();
  });

  it("notices an engine that stops answering without closing anything, and recovers when it answers again", async () => {
    await eventually(async () => ((await engineStatus()).status === "up" ? true : undefined), 20_000);
    proxy.freeze();
    try {
      const down = await eventually(
        async () => {
          const e = await engineStatus();
          return e.status === "down" ? e : undefined;
        },
        30_000,
        "a silent engine reported down",
      );
      expect(down.error).toMatch(/stopped answering/);
    } finally {
      proxy.thaw();
    }
    await eventually(
      async () => ((await engineStatus()).status === "up" ? true : undefined),
      30_000,
      "up again",
    );
  }, 70_000);

  it("starts and answers with no engine at all", async () => {
    const lonely = await startTestPanel(["--engine", `unix:///tmp/${PREFIX}nothing-here.sock`]);
    try {
      const health = await lonely.api("GET", "/healthz");
      expect(health.status).toBe(200);
      const e = await eventually(async () => {
        const h = (await lonely.api("GET", "/healthz")).body.engines[0];
        return h.status === "down" ? h : undefined;
      });
      expect(e.error).toMatch(/unreachable|ENOENT|No such file/i);
      expect((await lonely.api("GET", "/api/v1/envs/local/containers")).body).toEqual([]);
    } finally {
      await lonely.stop();
    }
  });
});
