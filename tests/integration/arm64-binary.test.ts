import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { eventually } from "../helpers/engine.ts";
import { freeLoopbackPort } from "../helpers/ports.ts";

const ARM64 = fileURLToPath(new URL("../../dist/ghostpanel-linux-arm64", import.meta.url));

// The cross-compiled executable for edge boxes, run here under qemu's user-mode emulation with
// Debian's arm64 glibc (scripts/setup-engine.sh installs both), against the real engine.
describe("dist/ghostpanel-linux-arm64", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gptest-arm64-"));
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  afterAll(async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("is an aarch64 executable that prints its version", () => {
    expect(existsSync(ARM64), `${ARM64} is missing: run \`npm run build\``).toBe(true);
    const header = readFileSync(ARM64).subarray(0, 20);
    expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(header.readUInt16LE(18)).toBe(183); // EM_AARCH64
    const res = Bun.spawnSync(["qemu-aarch64-static", "-L", "/", ARM64, "--version"]);
    expect(res.stdout.toString().trim()).toBe(pkg.version);
  });

  it("serves the panel, its UI and the engine's containers", async () => {
    const port = await freeLoopbackPort();
    proc = Bun.spawn(
      [
        "qemu-aarch64-static",
        "-L",
        "/",
        ARM64,
        "serve",
        "--listen",
        `127.0.0.1:${port}`,
        "--data",
        dataDir,
        "--tls",
        "off",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const url = `http://127.0.0.1:${port}`;
    const health = await eventually(
      async () => {
        const h = (await (await fetch(`${url}/healthz`)).json()) as { engines: { status: string }[] };
        return h.engines[0]?.status === "up" ? h : undefined;
      },
      60_000,
      "the emulated panel to see the engine",
    );
    expect(health).toMatchObject({ status: "ok" });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const setup = await fetch(`${url}/api/v1/setup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "arm64-password" }),
    });
    expect(setup.status).toBe(201);
    const cookie = (setup.headers.get("set-cookie") ?? "").split(";")[0]!;
    const list = await fetch(`${url}/api/v1/envs/local/containers`, { headers: { cookie } });
    expect(list.status).toBe(200);
    expect(Array.isArray(await list.json())).toBe(true);
  }, 90_000);
});
