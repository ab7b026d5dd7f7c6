import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFrame, encodeMessage } from "../../src/protocol/frames.ts";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";

const INSECURE = { tls: { rejectUnauthorized: false } } as RequestInit;
const HSTS = "max-age=31536000";

/** A self-signed P-256 pair for localhost; returns its SHA-256 fingerprint as browsers show it. */
function makePair(dir: string, name: string): string {
  const made = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-keyout",
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.crt`),
    ],
    { stderr: "pipe" },
  );
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  return new X509Certificate(readFileSync(join(dir, `${name}.crt`))).fingerprint256;
}

/** What a new TLS handshake on this port is given. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("TLS from files, reloaded on SIGHUP (built executable)", () => {
  let dir: string;
  let fpA: string;
  let fpB: string;
  let panel: BinaryPanel;
  let port: number;
  let httpPort: number;
  const live = () => `${join(dir, "live.crt")},${join(dir, "live.key")}`;
  const use = (name: string) => {
    copyFileSync(join(dir, `${name}.crt`), join(dir, "live.crt"));
    copyFileSync(join(dir, `${name}.key`), join(dir, "live.key"));
  };
  const logged = (text: string) => panel.output().split(text).length - 1;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gptest-tls-reload-"));
    fpA = makePair(dir, "a");
    fpB = makePair(dir, "b");
    use("a");
    panel = await startBinary(["--tls", live(), "--listen-http", "127.0.0.1:0"]);
    port = Number(new URL(panel.url).port);
    httpPort = Number(
      await waitFor(
        "the redirect listener",
        () => /Plain HTTP on 127\.0\.0\.1:(\d+)/.exec(panel.output())?.[1],
      ),
    );
  });
  afterAll(async () => {
    await panel?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints the fingerprint at start, serves it, and gives it in /healthz with HSTS", async () => {
    await waitFor("the fingerprint line", () => (logged("SHA-256 fingerprint") ? true : undefined));
    expect(panel.output()).toContain(`SHA-256 fingerprint ${fpA}`);
    expect(await servedFingerprint(port)).toBe(fpA);
    const res = await fetch(`${panel.url}/healthz`, INSECURE);
    expect(res.headers.get("strict-transport-security")).toBe(HSTS);
    expect((await res.json()).tls).toEqual({ fingerprint_sha256: fpA });
    const page = await fetch(`${panel.url}/`, INSECURE);
    expect(page.headers.get("strict-transport-security")).toBe(HSTS);
  });

  it("redirects plain HTTP to the same host on the HTTPS port with 308, path and query kept", async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/envs?x=1&y=a%20b`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe(`https://127.0.0.1:${port}/api/v1/envs?x=1&y=a%20b`);
    expect(res.headers.get("strict-transport-security")).toBeNull();
    const named = await fetch(`http://127.0.0.1:${httpPort}/healthz`, {
      method: "POST",
      redirect: "manual",
      headers: { host: `panel.example:${httpPort}` },
    });
    expect(named.status).toBe(308);
    expect(named.headers.get("location")).toBe(`https://panel.example:${port}/healthz`);
  });

  it("swaps to the new pair on SIGHUP for new connections; an open WebSocket stays up", async () => {
    const setup = await fetch(`${panel.url}/api/v1/setup`, {
      ...INSECURE,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "reload-test-pw" }),
    });
    expect(setup.status).toBe(201);
    const cookie = (setup.headers.get("set-cookie") ?? "").split(";")[0]!;
    // As the UI's page would open it: the cookie, and the page's own Origin (docs/protocol.md).
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/stream`, {
      headers: { cookie, origin: `https://127.0.0.1:${port}` },
      tls: { rejectUnauthorized: false },
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    let pongs = 0;
    let closed: number | undefined;
    ws.onmessage = (e) => {
      if ((decodeFrame(new Uint8Array(e.data as ArrayBuffer)) as { k: string }).k === "pong") pongs++;
    };
    ws.onclose = (e) => {
      closed = e.code;
    };
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("the stream did not open"));
    });
    ws.send(encodeMessage({ op: "ping" }));
    await waitFor("a pong before the reload", () => (pongs === 1 ? true : undefined));

    use("b");
    panel.signal("SIGHUP");
    await waitFor("the reload line", () => (logged("TLS certificate reloaded") === 1 ? true : undefined));
    expect(panel.output()).toContain(
      `TLS certificate reloaded from ${join(dir, "live.crt")}\n  SHA-256 fingerprint ${fpB}`,
    );
    expect(await servedFingerprint(port)).toBe(fpB);
    expect(
      ((await (await fetch(`${panel.url}/healthz`, INSECURE)).json()) as any).tls.fingerprint_sha256,
    ).toBe(fpB);

    ws.send(encodeMessage({ op: "ping" }));
    await waitFor("a pong after the reload", () => (pongs === 2 ? true : undefined));
    expect(closed).toBeUndefined();
    ws.close();
  });

  it("refuses a key that does not match, or a missing file, and keeps serving the current pair", async () => {
    copyFileSync(join(dir, "a.key"), join(dir, "live.key"));
    panel.signal("SIGHUP");
    await waitFor("the refusal", () => (logged("TLS certificate not reloaded") === 1 ? true : undefined));
    expect(panel.output()).toContain(
      `TLS certificate not reloaded: the key ${join(dir, "live.key")} does not match the certificate ${join(dir, "live.crt")}. Still serving SHA-256 fingerprint ${fpB}.`,
    );
    expect(await servedFingerprint(port)).toBe(fpB);

    rmSync(join(dir, "live.crt"));
    panel.signal("SIGHUP");
    await waitFor("the second refusal", () =>
      logged("TLS certificate not reloaded") === 2 ? true : undefined,
    );
    expect(panel.output()).toContain(
      `TLS certificate not reloaded: cannot read the certificate file ${join(dir, "live.crt")}: no such file.`,
    );
    expect(await servedFingerprint(port)).toBe(fpB);
    const res = await fetch(`${panel.url}/healthz`, INSECURE);
    expect(((await res.json()) as any).tls.fingerprint_sha256).toBe(fpB);
  });
});

describe("TLS refused at start (built executable)", () => {
  it("says which key does not match which certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gptest-tls-reload-"));
    try {
      makePair(dir, "a");
      makePair(dir, "b");
      const [crt, key] = [join(dir, "a.crt"), join(dir, "b.key")];
      await expect(startBinary(["--tls", `${crt},${key}`])).rejects.toThrow(
        `ghostpanel: --tls: the key ${key} does not match the certificate ${crt}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("will not share its port with another panel, though it binds with SO_REUSEPORT", async () => {
    const other = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      reusePort: true,
      fetch: () => new Response(""),
    });
    try {
      await expect(startBinary(["--tls", "auto", "--listen", `127.0.0.1:${other.port}`])).rejects.toThrow(
        `ghostpanel: cannot listen on 127.0.0.1:${other.port}: something listens there already`,
      );
    } finally {
      await other.stop(true);
    }
  });
});

describe("--tls off (built executable)", () => {
  it("sends no HSTS and reports no certificate", async () => {
    const panel = await startBinary(["--tls", "off"]);
    try {
      const res = await fetch(`${panel.url}/healthz`);
      expect(res.headers.get("strict-transport-security")).toBeNull();
      expect(((await res.json()) as any).tls).toBeNull();
    } finally {
      await panel.stop();
    }
  });
});
