import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseServeArgs } from "../../src/server/config.ts";
import { startPanel } from "../../src/server/serve.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(args: string[], dataDir: string) {
  const lines: string[] = [];
  const config = parseServeArgs(["--listen", "127.0.0.1:0", "--data", dataDir, ...args], {
    GHOSTPANEL_ENGINE: "unix:///var/run/docker.sock",
  });
  const panel = await startPanel(config, "test", (l) => lines.push(l));
  return { panel, lines, url: `https://127.0.0.1:${panel.port}` };
}

describe("--tls", () => {
  it("auto: makes a self-signed ECDSA P-256 certificate once, keeps it, prints its fingerprint", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gptest-tls-"));
    dirs.push(dataDir);
    const first = await start(["--tls", "auto"], dataDir);
    const res = await fetch(`${first.url}/healthz`, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect((await res.json()).status).toBe("ok");
    const pem = await Bun.file(join(dataDir, "tls-cert.pem")).text();
    const cert = new X509Certificate(pem);
    expect(cert.publicKey.asymmetricKeyType).toBe("ec");
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(statSync(join(dataDir, "tls-key.pem")).mode & 0o777).toBe(0o600);
    expect(first.lines.join("\n")).toContain(cert.fingerprint256);
    const login = await fetch(`${first.url}/api/v1/setup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "secure-cookie-pw" }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(login.headers.get("set-cookie")).toMatch(/Secure/);
    await first.panel.stop();

    const second = await start(["--tls", "auto"], dataDir);
    expect(second.panel.tls?.fingerprint).toBe(cert.fingerprint256);
    await second.panel.stop();
  });

  it("CERT,KEY: serves the given files", async () => {
    const source = mkdtempSync(join(tmpdir(), "gptest-tls-src-"));
    const dataDir = mkdtempSync(join(tmpdir(), "gptest-tls-"));
    dirs.push(source, dataDir);
    const made = await start(["--tls", "auto"], source);
    await made.panel.stop();
    const cert = join(source, "tls-cert.pem");
    const key = join(source, "tls-key.pem");
    const p = await start(["--tls", `${cert},${key}`], dataDir);
    expect(p.panel.tls?.fingerprint).toBe(new X509Certificate(await Bun.file(cert).text()).fingerprint256);
    const res = await fetch(`${p.url}/healthz`, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(res.status).toBe(200);
    await p.panel.stop();
  });

  it("refuses missing certificate files and bad engine URLs with a message, not a crash", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gptest-tls-"));
    dirs.push(dataDir);
    await expect(start(["--tls", "/nonexistent/c.pem,/nonexistent/k.pem"], dataDir)).rejects.toThrow(
      /no such file/i,
    );
    await expect(start(["--engine", "docker.sock"], dataDir)).rejects.toThrow(/unix:\/\//);
    await expect(start(["--engine-cert-dir", "/nonexistent"], dataDir)).rejects.toThrow(/ca\.pem/);
  });
});
