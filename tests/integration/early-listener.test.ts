import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseServeArgs } from "../../src/server/config.ts";
import { openListener } from "../../src/server/listen.ts";
import { startTestPanel } from "../helpers/panel.ts";

// The listener opens before the rest of the panel (src/server/listen.ts): what it answers alone
// must be true, and everything else must wait for the app rather than be refused or misanswered.
describe("early listener: /healthz before the panel is loaded", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gptest-early-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("answers an anonymous /healthz at once; a caller with credentials waits for the app", async () => {
    const config = parseServeArgs(["--listen", "127.0.0.1:0", "--data", tempDir(), "--tls", "off"], {});
    const listener = await openListener(config, "9.9.9");
    try {
      const url = `http://127.0.0.1:${listener.port}`;
      const early = await fetch(`${url}/healthz`);
      expect(early.status).toBe(200);
      expect(await early.json()).toEqual({
        status: "ok",
        warnings: [],
        version: "9.9.9",
        engines: [{ id: "local", status: "connecting" }],
        tls: null,
      });
      // Anything else is held until the app is attached, then answered by it.
      const order: string[] = [];
      const waiting = [
        fetch(`${url}/healthz`, { headers: { authorization: "Bearer x" } }).then(async (r) => {
          order.push("bearer");
          return r.text();
        }),
        fetch(`${url}/api/v1/envs`).then(async (r) => {
          order.push("api");
          return r.text();
        }),
      ];
      await Bun.sleep(50);
      expect(order).toEqual([]);
      order.push("attached");
      listener.attach((req) => new Response(`app: ${new URL(req.url).pathname}`), { message() {} });
      expect(await Promise.all(waiting)).toEqual(["app: /healthz", "app: /api/v1/envs"]);
      expect(order[0]).toBe("attached");
      // Once attached, the app answers /healthz too.
      expect(await (await fetch(`${url}/healthz`)).text()).toBe("app: /healthz");
    } finally {
      await listener.stop();
    }
  });

  it("a start that fails after the listener opened answers 503 to the waiting requests and frees the port", async () => {
    const config = parseServeArgs(["--listen", "127.0.0.1:0", "--data", tempDir(), "--tls", "off"], {});
    const listener = await openListener(config, "1");
    const url = `http://127.0.0.1:${listener.port}`;
    const waiting = fetch(`${url}/api/v1/envs`);
    await Bun.sleep(50);
    await listener.abandon();
    expect((await waiting).status).toBe(503);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("--tls auto on a data directory that does not exist yet: made (0700), certificate in it", async () => {
    const dataDir = join(tempDir(), "new", "data");
    const p = await startTestPanel(["--tls", "auto"], false, { dataDir });
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, "tls-cert.pem")).isFile()).toBe(true);
      expect(p.panel.tls?.fingerprint).toMatch(/^[0-9A-F:]+$/);
    } finally {
      await p.panel.stop();
    }
  });
});
