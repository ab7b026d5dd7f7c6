import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/server/config.ts";
import { startTestPanel } from "../helpers/panel.ts";
import { freeLoopbackPort } from "../helpers/ports.ts";
import { makeTlsFiles } from "../helpers/second-engine.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** `ghostpanel serve` from source on `dataDir`, as an operator runs it: exit code and what it printed. */
function serveFromSource(dataDir: string): { code: number | null; stdout: string; stderr: string } {
  const res = Bun.spawnSync(
    [
      process.execPath,
      join(ROOT, "src/main.ts"),
      "serve",
      ...["--listen", "127.0.0.1:0", "--data", dataDir, "--tls", "off"],
      ...["--engine", "unix:///nonexistent/docker.sock"],
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 20_000 },
  );
  return { code: res.exitCode, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
}

// The panel refuses to start on a key file it should not trust, or one that does not open the
// secrets the database holds, and says so in one line. No engine is needed: material for an engine
// that is not there (a closed loopback port) is sealed all the same.
describe("the secret key file at start", () => {
  let certDir: string;
  const dirs: string[] = [];
  const newDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "gptest-secrets-"));
    dirs.push(dir);
    return dir;
  };

  beforeAll(() => {
    certDir = mkdtempSync(join(tmpdir(), "gptest-certs-"));
    makeTlsFiles(certDir);
  });
  afterAll(() => {
    for (const dir of [certDir, ...dirs]) rmSync(dir, { recursive: true, force: true });
  });

  /** A data directory whose database holds one environment's sealed TLS material. */
  const withSealedMaterial = async () => {
    const dataDir = newDataDir();
    const pem = (name: string) => readFileSync(join(certDir, "client", name), "utf8");
    const p = await startTestPanel([], true, { dataDir });
    try {
      const res = await p.api("POST", "/api/v1/envs", {
        name: "remote",
        url: `tcp://127.0.0.1:${await freeLoopbackPort()}`,
        tls: { ca: pem("ca.pem"), cert: pem("cert.pem"), key: pem("key.pem") },
      });
      expect(res.status).toBe(201);
    } finally {
      await p.stop();
    }
    return { dataDir, keyPath: join(dataDir, "secret.key") };
  };

  it("makes the key file on first start, 0600, and starts again with it", async () => {
    const dataDir = newDataDir();
    await (await startTestPanel([], false, { dataDir })).stop();
    const keyPath = join(dataDir, "secret.key");
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyPath);
    await (await startTestPanel([], false, { dataDir })).stop();
    expect(readFileSync(keyPath).equals(key)).toBe(true);
  });

  it("refuses a key file others may read (0644), and says how to fix it", async () => {
    const dataDir = newDataDir();
    await (await startTestPanel([], false, { dataDir })).stop();
    const keyPath = join(dataDir, "secret.key");
    chmodSync(keyPath, 0o644);
    const start = startTestPanel([], false, { dataDir });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(`the key file ${keyPath} has mode 0644`);
    await expect(start).rejects.toThrow(`chmod 600 ${keyPath}`);

    const cli = serveFromSource(dataDir);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^ghostpanel: the key file .* 0644/),
    ]);

    chmodSync(keyPath, 0o600);
    await (await startTestPanel([], false, { dataDir })).stop();
  });

  it("refuses to start when the key file was replaced, and starts again with the right one", async () => {
    const { dataDir, keyPath } = await withSealedMaterial();
    const original = readFileSync(keyPath);
    writeFileSync(keyPath, crypto.getRandomValues(new Uint8Array(32)));
    const message = `cannot open sealed secrets: the key file ${keyPath} does not match (was it replaced?)`;
    await expect(startTestPanel([], false, { dataDir })).rejects.toThrow(message);

    // From the command line: that one line and exit code 2, not a crash with a stack.
    const cli = serveFromSource(dataDir);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split("\n")).toEqual([`ghostpanel: ${message}`]);
    expect(cli.stdout).not.toMatch(/listening/);

    writeFileSync(keyPath, original);
    const p = await startTestPanel([], true, { dataDir });
    try {
      const envs = (await p.api("GET", "/api/v1/envs")).body as { id: string; tls: boolean }[];
      expect(envs.map((e) => [e.id, e.tls])).toEqual([
        ["local", false],
        ["remote", true],
      ]);
    } finally {
      await p.stop();
    }
  });

  it("refuses to start when the key file is missing, instead of making a new one", async () => {
    const { dataDir, keyPath } = await withSealedMaterial();
    rmSync(keyPath);
    await expect(startTestPanel([], false, { dataDir })).rejects.toThrow(
      `the key file ${keyPath} is missing and the database holds 1 secret(s) sealed under it`,
    );
    expect(() => statSync(keyPath)).toThrow(/ENOENT/);
  });
});
