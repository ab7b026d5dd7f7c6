import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { EngineError } from "../../src/engine/errors.ts";
import { containerPath } from "../../src/engine/paths.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  containerState,
  docker,
  eventually,
  runContainer,
  uniqueName,
} from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

/**
 * Issue #8: requests an attacker sent to the built executable that ended the process. Each is sent
 * again; after each the panel still answers /healthz, and the engine did nothing it was not asked.
 */
describe("no request ends the panel (built binary)", () => {
  let panel: BinaryPanel;
  let token: string;
  let victim: string;

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, ADMIN, "killers", "setup");
    victim = uniqueName("victim");
    runContainer(victim);
    await eventually(
      async () => {
        const list = (await call("GET", "/api/v1/envs/local/containers")).body as { name: string }[];
        return list.some((c) => c.name === victim) ? true : undefined;
      },
      15_000,
      "the panel to see the container",
    );
  }, 30_000);

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
  });

  async function call(method: string, path: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(panel.url + path, { method, headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    return { status: res.status, body };
  }

  async function stillServing(): Promise<void> {
    const res = await fetch(`${panel.url}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("ok");
    // Nothing had to be caught by the last resort either: each cause is handled where it arises.
    expect(panel.output()).not.toMatch(/uncaught error|unhandled rejection/);
  }

  const base = "/api/v1/envs/local/containers";

  it("a name with an encoded leading slash: the slash is dropped, the engine is not redirected", async () => {
    // Once a 301 from the engine that the HTTP client followed into an uncaught "Invalid URL".
    const res = await call("POST", `${base}/%2F${victim}/restart?t=0`);
    expect(res.status).toBe(204);
    await stillServing();
    // A slash of its own (not the leading one) is no name at all.
    const inner = await call("POST", `${base}/%2F%2F${victim}/restart?t=0`);
    expect(inner.status).toBe(400);
    await stillServing();
  });

  it("an encoded path and query in the reference reach no other endpoint (no pause for unpause)", async () => {
    expect(containerState(victim)).toBe("running");
    const res = await call("POST", `${base}/${victim}%2Fpause%3F/unpause`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/not a container name or id/);
    expect(docker("inspect", "-f", "{{.State.Paused}}", victim)).toBe("false");
    expect(containerState(victim)).toBe("running");
    await stillServing();
  });

  it("dot segments and encoded queries are refused before the engine sees them", async () => {
    for (const [method, path] of [
      ["POST", `${base}/%2E%2E/pause`],
      ["POST", `${base}/..%2F..%2Fcontainers%2F${victim}/pause`],
      ["GET", `${base}/%2E%2E%2F%2E%2E%2Finfo`],
      ["GET", `${base}/${victim}%2Fjson%3F/logs`],
      ["DELETE", `${base}/${victim}%3Fforce%3D1`],
      ["POST", `${base}/${victim}%23/kill`],
      ["POST", `${base}/${"a".repeat(300)}/stop`],
    ] as const) {
      const res = await call(method, path);
      expect([400, 404], `${method} ${path}: ${res.status}`).toContain(res.status);
      await stillServing();
    }
    expect(containerState(victim)).toBe("running");
  });

  it("a reference the engine does not know is a 404, by name or with its slash", async () => {
    for (const ref of ["no-such-container-here", "%2Fno-such-container-here"]) {
      const res = await call("POST", `${base}/${ref}/restart?t=0`);
      expect(res.status).toBe(404);
      await stillServing();
    }
  });
});

/**
 * No engine answer of ours is a redirect; one that comes anyway (a proxy in front of the engine,
 * a router cleaning a path) is an engine error, for the fetch path and for dockerode's alike.
 */
describe("engine redirects are never followed", () => {
  const socket = join(tmpdir(), `gptest-redirect-${process.pid}.sock`);
  let server: ReturnType<typeof Bun.serve> | undefined;
  let engine: DockerHttpEngine;
  let followed = 0;

  beforeAll(async () => {
    rmSync(socket, { force: true });
    server = Bun.serve({
      unix: socket,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/_ping") return new Response("OK");
        if (path.endsWith("/version"))
          return Response.json({ ApiVersion: "1.41", Version: "20.10.0", Os: "linux", Arch: "amd64" });
        if (path.endsWith("/info")) return Response.json({ Name: "fake" });
        if (path.includes("/followed")) {
          followed++;
          return new Response(null, { status: 204 });
        }
        // What Docker's router answers to //name or /../: a 301 to a cleaned path.
        return new Response(null, { status: 301, headers: { location: "/v1.41/followed" } });
      },
    });
    engine = new DockerHttpEngine(parseEngineUrl(`unix://${socket}`));
    await engine.connect();
  });

  afterAll(() => {
    server?.stop(true);
    rmSync(socket, { force: true });
  });

  it("a 301 to a read is an EngineError, not a second request", async () => {
    const err = await engine.get("/containers/abc/json").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).status).toBe(301);
    expect(followed).toBe(0);
  });

  it("a 301 to an action, or to a shell's exec through dockerode, is an EngineError, with nothing thrown where nobody catches it", async () => {
    for (const attempt of [
      () => engine.send("POST", "/containers/abc/restart"),
      () => engine.exec("abc", { Cmd: ["sh"], interactive: false }),
      () => engine.exec("abc", { Cmd: ["sh"], interactive: true }),
    ]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).status).toBe(301);
    }
    expect(followed).toBe(0);
  });

  it("a reference that is no container name never reaches the engine", async () => {
    for (const ref of ["/", "..", "a/b", "a?b", "", "/../x"]) {
      const err = await engine.exec(ref, { Cmd: ["true"], interactive: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).status).toBe(404);
      expect(() => containerPath(ref)).toThrow(EngineError);
    }
  });
});

/**
 * The last resort under all of the above: an error nothing caught is logged in one line and the
 * process goes on. Run in a process of its own, as the executable's entry installs it.
 */
describe("stray errors do not end the process", () => {
  it("logs an uncaught exception and an unhandled rejection in one line each, and keeps running", () => {
    const script = `
      import { keepServingThroughStrayErrors } from "./src/main.ts";
      keepServingThroughStrayErrors();
      setTimeout(() => { throw new TypeError("Invalid URL"); }, 0);
      Promise.reject(new Error("nobody awaited this"));
      setTimeout(() => console.log("still here"), 200);
    `;
    const res = Bun.spawnSync([process.execPath, "-e", script], {
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 15_000,
    });
    const out = res.stdout.toString();
    const err = res.stderr.toString();
    expect(res.exitCode, err).toBe(0);
    expect(out).toContain("still here");
    const lines = err.trim().split("\n");
    expect(lines, err).toHaveLength(2);
    expect(err).toMatch(/^ghostpanel: uncaught error \(still serving\): TypeError: Invalid URL/m);
    expect(err).toMatch(/^ghostpanel: unhandled rejection \(still serving\): Error: nobody awaited this/m);
  });
});
