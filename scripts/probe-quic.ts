/**
 * What Bun's QUIC can do here, asked again on each Bun upgrade (docs/decisions.md, "HTTP/3, the
 * feed and watch"): `bun scripts/probe-quic.ts` prints one line per probe.
 *
 * 1. node:quic datagrams, both ways, between two Bun endpoints on loopback.
 * 2. Chromium's `new WebTransport()` against Bun.serve's HTTP/3.
 * 3. The same against node:quic with the h3 ALPN and its HTTP/3 application options (extended
 *    CONNECT, HTTP/3 datagrams).
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QuicSession } from "node:quic";
import { autoTls } from "../src/tls/certificate.ts";
import { launchChromium } from "../tests/e2e/browser.ts";

const dir = mkdtempSync(join(tmpdir(), "gp-probe-"));
const tls = await autoTls(dir);
const quic = await import("node:quic");
const sni = { "*": { keys: [createPrivateKey(tls.key)], certs: [Buffer.from(tls.cert)] } };
const spki = createHash("sha256")
  .update(new X509Certificate(tls.cert).publicKey.export({ type: "spki", format: "der" }))
  .digest("base64");
const text = (d: Uint8Array) => new TextDecoder().decode(d);

async function datagrams(): Promise<string> {
  const got: string[] = [];
  let server: QuicSession | undefined;
  const endpoint = await quic.listen(
    (s) => {
      server = s;
      s.opened.catch(() => {});
      s.closed.catch(() => {});
      s.ondatagram = (d) => void got.push(`panel got "${text(d)}"`);
    },
    {
      endpoint: { address: "127.0.0.1:0" },
      alpn: ["probe"],
      sni,
      transportParams: { maxDatagramFrameSize: 1200 },
    } as never,
  );
  const port = (endpoint as unknown as { address: { port: number } }).address.port;
  const client = await quic.connect(`127.0.0.1:${port}`, {
    alpn: "probe",
    servername: "localhost",
    verifyPeer: "manual",
    transportParams: { maxDatagramFrameSize: 1200 },
  } as never);
  client.closed.catch(() => {});
  await client.opened;
  client.ondatagram = (d) => void got.push(`client got "${text(d)}"`);
  await client.sendDatagram(new TextEncoder().encode("up"));
  await Bun.sleep(300);
  await server?.sendDatagram(new TextEncoder().encode("down"));
  await Bun.sleep(300);
  const size = client.maxDatagramSize;
  client.destroy();
  await endpoint.close().catch(() => {});
  return `${got.join(", ") || "nothing received"} (maxDatagramSize ${size})`;
}

/** Opens a WebTransport session from a page of `pageUrl` to `wtUrl`; what Chromium says. */
async function webTransport(pageUrl: string, wtUrl: string, quicOrigin: string): Promise<string> {
  const browser = await launchChromium([
    `--origin-to-force-quic-on=${quicOrigin}`,
    `--ignore-certificate-errors-spki-list=${spki}`,
  ]);
  try {
    const page = await (await browser.newContext()).newPage();
    const console: string[] = [];
    page.on("console", (m) => console.push(m.text()));
    await page.goto(pageUrl);
    const protocol = await page.evaluate(
      () => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).nextHopProtocol,
    );
    const result = await page.evaluate(async (url) => {
      try {
        const wt = new WebTransport(url);
        await wt.ready;
        return "session ready";
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    }, wtUrl);
    await Bun.sleep(200);
    const why = console.find((l) => l.includes("Failed to establish")) ?? "";
    return `${result}; Chromium ${browser.version()} says: ${why} (page over ${protocol})`;
  } finally {
    await browser.close();
  }
}

const page = () =>
  new Response("<!doctype html><title>probe</title>", { headers: { "content-type": "text/html" } });

try {
  console.log(`Bun ${Bun.version}`);
  console.log(`1. node:quic datagrams: ${await datagrams()}`);

  const h3 = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: tls.cert, key: tls.key },
    http3: true,
    fetch: page,
  });
  const origin = `127.0.0.1:${h3.port}`;
  console.log(
    `2. WebTransport to Bun.serve http3: ${await webTransport(`https://${origin}/`, `https://${origin}/wt`, origin)}`,
  );
  await h3.stop(true);

  const sessions: string[] = [];
  const endpoint = await quic.listen(
    (s) => {
      s.opened.then(
        () => sessions.push("opened"),
        (e) => sessions.push(`not opened: ${(e as Error).message}`),
      );
      s.closed.catch(() => {});
    },
    {
      endpoint: { address: "127.0.0.1:0" },
      alpn: ["h3"],
      sni,
      application: { enableConnectProtocol: true, enableDatagrams: true },
      transportParams: { maxDatagramFrameSize: 1200 },
    } as never,
  );
  const wtOrigin = `127.0.0.1:${(endpoint as unknown as { address: { port: number } }).address.port}`;
  const pageServer = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: tls.cert, key: tls.key },
    fetch: page,
  });
  const result = await webTransport(
    `https://127.0.0.1:${pageServer.port}/`,
    `https://${wtOrigin}/wt`,
    wtOrigin,
  );
  console.log(
    `3. WebTransport to node:quic h3 (extended CONNECT, datagrams): ${result}; the panel's sessions: ${sessions.join(", ") || "none"}`,
  );
  await pageServer.stop(true);
  await endpoint.close().catch(() => {});
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
