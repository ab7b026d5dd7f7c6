import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  containerState,
  createContainer,
  docker,
  eventually,
  manyDirectories,
  PREFIX,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";

const BASE = "/api/v1/envs/local/containers";

describe("containers on a real engine", () => {
  let p: TestPanel;
  let proxy: EngineProxy;

  beforeAll(async () => {
    proxy = new EngineProxy(`/tmp/${PREFIX}containers.sock`);
    await proxy.start();
    p = await startTestPanel(["--engine", proxy.url]);
    await eventually(async () =>
      (await p.api("GET", "/healthz")).body.engines[0].status === "up" ? true : undefined,
    );
  });
  afterAll(async () => {
    await p.stop();
    await proxy.stop();
    cleanupEngine();
  });

  const find = async (name: string) =>
    ((await p.api("GET", BASE)).body as { name: string; state: string; id: string }[]).find(
      (c) => c.name === name,
    );

  it("lists containers started outside the panel, from its mirror rather than one engine call per request", async () => {
    const name = uniqueName("list");
    const id = runContainer(name, ["sleep", "3600"], ["--label", "tier=web", "-p", "127.0.0.1::80"]);
    const item = await eventually(() => find(name), 10_000, "container in list");
    expect(item).toMatchObject({ id, name, image: TEST_IMAGE, state: "running" });
    const full = (await p.api("GET", BASE)).body.find((c: { id: string }) => c.id === id);
    expect(full.status).toMatch(/^Up /);
    expect(full.labels).toMatchObject({ tier: "web" });
    expect(full.ports[0]).toMatchObject({ private: 80, type: "tcp", ip: "127.0.0.1" });
    expect(full.ports[0].public).toBeGreaterThan(0);
    expect(full.created).toBeGreaterThan(1_600_000_000);
    expect(full).toHaveProperty("health", null);

    const before = proxy.count(/\/containers\/json/);
    for (let i = 0; i < 25; i++) expect((await p.api("GET", BASE)).status).toBe(200);
    expect(proxy.count(/\/containers\/json/)).toBe(before);
  });

  it("follows health checks: starting, then healthy, in the state and the status text", async () => {
    const name = uniqueName("health");
    const id = runContainer(
      name,
      ["sleep", "3600"],
      ["--health-cmd", "test -e /tmp/ready", "--health-interval", "1s", "--health-retries", "30"],
    );
    const starting = await eventually(async () => {
      const c = (await p.api("GET", BASE)).body.find((x: { id: string }) => x.id === id);
      return c?.health === "starting" ? c : undefined;
    });
    expect(starting.status).toMatch(/\(health: starting\)$/);
    docker("exec", id, "touch", "/tmp/ready");
    const healthy = await eventually(
      async () => {
        const c = (await p.api("GET", BASE)).body.find((x: { id: string }) => x.id === id);
        return c?.health === "healthy" ? c : undefined;
      },
      15_000,
      "healthy",
    );
    expect(healthy.status).toMatch(/^Up .* \(healthy\)$/);
  });

  it("filters by name, state and label", async () => {
    const a = uniqueName("flt");
    const b = uniqueName("flt");
    runContainer(a, ["sleep", "3600"], ["--label", "team=blue"]);
    createContainer(b, ["true"], ["--label", "team=red"]);
    await eventually(() => find(b));
    const byName = (await p.api("GET", `${BASE}?name=${encodeURIComponent(a)}`)).body;
    expect(byName.map((c: { name: string }) => c.name)).toEqual([a]);
    const created = (await p.api("GET", `${BASE}?state=created&label=${encodeURIComponent(RUN_LABEL)}`)).body;
    expect(created.map((c: { name: string }) => c.name)).toContain(b);
    expect(created.map((c: { name: string }) => c.name)).not.toContain(a);
    const red = (await p.api("GET", `${BASE}?label=team%3Dred`)).body;
    expect(red.map((c: { name: string }) => c.name)).toEqual([b]);
    const both = (
      await p.api("GET", `${BASE}?label=team&label=${encodeURIComponent(RUN_LABEL)}&state=running,created`)
    ).body;
    expect(both.map((c: { name: string }) => c.name).sort()).toEqual([a, b].sort());
    const bad = await p.api("GET", `${BASE}?state=sleeping`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/sleeping/);
  });

  it("answers a stop that keeps the engine busy past the server's 10 s idle time", async () => {
    const name = uniqueName("deaf");
    // sleep as PID 1 has no SIGTERM handler: the engine waits out t, then kills it. Bun cuts an
    // idle request on 4 s ticks, 8 to 12 s in: an 11 s stop was answered without the lift.
    const id = runContainer(name, ["sleep", "3600"]);
    await eventually(() => find(name));
    const started = Date.now();
    const res = await p.api("POST", `${BASE}/${id}/stop?t=14`);
    expect(res.status).toBe(204);
    // What makes this test: the answer came after the 10 s a silent request is allowed.
    expect(Date.now() - started).toBeGreaterThan(10_000);
    expect(containerState(id)).toBe("exited");
  }, 60_000);

  it("answers a stop and a read whose engine stayed silent past the server's 10 s idle time before either's own wait", async () => {
    const name = uniqueName("slowinspect");
    const id = runContainer(name, ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]);
    await eventually(() => find(name));
    // A stop named no t first asks the engine for the container's own stop timeout, and a read asks
    // it once. Bun cut either request when the engine kept that question unanswered for 10 s: the
    // stop lifted its idle limit only after the answer, the read never did.
    const inspect = new RegExp(`^GET \\S*/containers/${id}/json`);
    const from = proxy.requests.length;
    const release = proxy.hold(inspect);
    const started = Date.now();
    const statusOf = (r: Promise<{ status: number }>) =>
      r.then(
        (res) => res.status,
        (err: Error) => err.message,
      );
    const stopping = statusOf(p.api("POST", `${BASE}/${id}/stop`));
    const reading = statusOf(p.api("GET", `${BASE}/${id}`));
    try {
      // Bun cuts a silent request on 4 s ticks, 8 to 12 s in.
      await Bun.sleep(13_000);
    } finally {
      release();
    }
    // One question each while held: a cut request, sent again by the client, would have asked again.
    const asked = proxy.requests.slice(from).filter((r) => inspect.test(r));
    expect(await stopping).toBe(204);
    expect(await reading).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(13_000);
    expect(asked).toHaveLength(2);
    expect(containerState(id)).toBe("exited");
  }, 60_000);

  it("gives a stop that names no t the container's own stop timeout", async () => {
    const name = uniqueName("grace");
    // What compose's stop_grace_period sets. The panel used to give such a stop 10 s + 30 s at the
    // engine and answer an error at 40 s while the engine went on waiting out the 42.
    const id = runContainer(name, ["sleep", "3600"], ["--stop-timeout", "42"]);
    await eventually(() => find(name));
    const started = Date.now();
    const res = await p.api("POST", `${BASE}/${id}/stop`);
    expect(res.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThan(40_000);
    expect(containerState(id)).toBe("exited");
  }, 90_000);

  it("answers a removal while the engine deletes a big anonymous volume, past the server's 10 s idle time", async () => {
    const name = uniqueName("bigvol");
    const id = runContainer(name, ["sh", "-c", manyDirectories("/data", 160)], ["-v", "/data"]);
    docker("wait", id);
    await eventually(() => find(name));
    const volume = docker("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", id);
    const started = Date.now();
    const res = await p.api("DELETE", `${BASE}/${id}?volumes=true`);
    expect(res.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThan(10_000);
    expect(docker("volume", "ls", "-q").split("\n")).not.toContain(volume);
  }, 120_000);

  it("stops, starts, restarts, pauses, unpauses, kills and renames, and the list follows", async () => {
    const name = uniqueName("act");
    const id = runContainer(name);
    await eventually(() => find(name));
    const act = (path: string) => p.api("POST", `${BASE}/${id}/${path}`);

    expect((await act("stop?t=1")).status).toBe(204);
    expect(containerState(id)).toBe("exited");
    // The answer to an action already reflects it: no waiting for the event.
    expect((await find(name))?.state).toBe("exited");
    expect((await act("stop")).status).toBe(204);

    expect((await act("start")).status).toBe(204);
    expect((await find(name))?.state).toBe("running");
    expect((await act("restart?t=1")).status).toBe(204);
    expect(containerState(id)).toBe("running");

    expect((await act("pause")).status).toBe(204);
    expect((await find(name))?.state).toBe("paused");
    expect((await act("unpause")).status).toBe(204);
    expect((await find(name))?.state).toBe("running");

    const renamed = `${name}-renamed`;
    expect((await p.api("POST", `${BASE}/${id}/rename?name=${renamed}`)).status).toBe(204);
    await eventually(() => find(renamed), 5_000, "renamed container");

    expect((await act("kill?signal=SIGKILL")).status).toBe(204);
    const killed = await eventually(async () => {
      const c = await find(renamed);
      return c?.state === "exited" ? c : undefined;
    });
    expect(killed).toMatchObject({ state: "exited" });
    const inspect = await p.api("GET", `${BASE}/${id}`);
    expect(inspect.body.State.ExitCode).toBe(137);
  });

  it("creates a container from Docker's own create body", async () => {
    const name = uniqueName("new");
    const res = await p.api("POST", BASE, {
      name,
      Image: TEST_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: { "ghostpanel.test": RUN_LABEL.split("=")[1] },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f]{64}$/);
    expect(await find(name)).toMatchObject({ state: "created" });
    expect((await p.api("POST", BASE, { name: uniqueName("x"), Image: "no-such-image:never" })).status).toBe(
      404,
    );
    const dup = await p.api("POST", BASE, { name, Image: TEST_IMAGE });
    expect(dup.status).toBe(409);
  });

  it("removes with force and volumes, and refuses a running container without force", async () => {
    const name = uniqueName("rm");
    const id = runContainer(name, ["sleep", "3600"], ["-v", "/data"]);
    await eventually(() => find(name));
    const volume = docker("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", id);
    const refused = await p.api("DELETE", `${BASE}/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/running/i);
    expect((await p.api("DELETE", `${BASE}/${id}?force=true&volumes=true`)).status).toBe(204);
    await eventually(async () => ((await find(name)) ? undefined : true), 5_000, "container gone from list");
    expect(docker("volume", "ls", "-q")).not.toContain(volume);
  });

  it("returns logs with stdout and stderr told apart, tail and timestamps", async () => {
    const name = uniqueName("logs");
    const id = runContainer(name, [
      "sh",
      "-c",
      "for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 3600",
    ]);
    const lines = await eventually(async () => {
      const res = await p.api("GET", `${BASE}/${id}/logs?tail=all`);
      return res.body.length >= 6 ? res.body : undefined;
    });
    expect(
      lines.filter((l: { stream: string }) => l.stream === "stdout").map((l: { text: string }) => l.text),
    ).toEqual(["out1", "out2", "out3"]);
    expect(
      lines.filter((l: { stream: string }) => l.stream === "stderr").map((l: { text: string }) => l.text),
    ).toEqual(["err1", "err2", "err3"]);
    expect(lines[0].time).toBeNull();
    const tail = (await p.api("GET", `${BASE}/${id}/logs?tail=2&timestamps=true`)).body;
    expect(tail).toHaveLength(2);
    expect(Date.parse(tail[0].time)).toBeGreaterThan(0);
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect((await p.api("GET", `${BASE}/${id}/logs?since=${future}`)).body).toEqual([]);
    const since = new Date(Date.now() - 3600_000).toISOString();
    expect((await p.api("GET", `${BASE}/${id}/logs?tail=all&since=${since}`)).body).toHaveLength(6);
    const onlyErr = (await p.api("GET", `${BASE}/${id}/logs?stdout=0`)).body;
    expect(onlyErr.every((l: { stream: string }) => l.stream === "stderr")).toBe(true);
    const tty = uniqueName("tty");
    const ttyId = runContainer(tty, ["sh", "-c", "echo from-tty; sleep 3600"], ["-t"]);
    const ttyLines = await eventually(async () => {
      const res = await p.api("GET", `${BASE}/${ttyId}/logs`);
      return res.body.length ? res.body : undefined;
    });
    expect(ttyLines[0]).toMatchObject({ stream: "stdout", text: "from-tty" });
  });

  it("answers bad input with a 4xx and a message, never a 500", async () => {
    const name = uniqueName("bad");
    const id = runContainer(name);
    await eventually(() => find(name));
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", `${BASE}/no-such-container-xyz/start`, undefined, 404, /no such container/i],
      ["GET", `${BASE}/no-such-container-xyz`, undefined, 404, /no such container/i],
      ["GET", `${BASE}/no-such-container-xyz/logs`, undefined, 404, /no such container/i],
      ["POST", `${BASE}/${id}/kill?signal=SIGNOPE`, undefined, 400, /signal/],
      ["POST", `${BASE}/${id}/kill?signal=99`, undefined, 400, /signal/],
      ["POST", `${BASE}/${id}/stop?t=-1`, undefined, 400, /t/],
      ["POST", `${BASE}/${id}/stop?t=abc`, undefined, 400, /t/],
      ["POST", `${BASE}/${id}/explode`, undefined, 400, /action/],
      ["POST", `${BASE}/${id}/rename?name=bad%20name`, undefined, 400, /name/],
      ["POST", `${BASE}/${id}/rename`, undefined, 400, /name/],
      ["GET", `${BASE}/${id}/logs?tail=lots`, undefined, 400, /tail/],
      ["GET", `${BASE}/${id}/logs?since=yesterday`, undefined, 400, /since/],
      ["POST", BASE, "{not json", 400, /JSON/i],
      ["POST", BASE, { Image: "" }, 400, /Image/],
      ["POST", BASE, { name: "bad name!", Image: TEST_IMAGE }, 400, /name/],
      ["POST", BASE, [1, 2], 400, /./],
      ["GET", "/api/v1/envs/nowhere/containers", undefined, 404, /nowhere/],
      ["GET", "/api/v1/no/such/route", undefined, 404, /no route/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await p.api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.body.error.message, `${method} ${path}`).toMatch(message);
      expect(typeof res.body.error.code).toBe("string");
    }
    const huge = "x".repeat(2 * 1024 * 1024);
    const big = await p.api("POST", BASE, { Image: TEST_IMAGE, Env: [huge] });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("body_too_large");
    expect(containerState(id)).toBe("running");
  });
});
