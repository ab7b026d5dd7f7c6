import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitFrames } from "../../src/protocol/feed.ts";
import { MAX_DATAGRAM_FRAME, WATCH_ALPN } from "../../src/protocol/watch-quic.ts";
import { decodeClientMessage } from "../../src/stream/frames.ts";
import { autoTls, type TlsFiles } from "../../src/tls/certificate.ts";
import { quicStream } from "../../src/watch/quic.ts";

interface Stream extends AsyncIterable<Uint8Array[]> {
  readonly closed: Promise<void>;
}

/**
 * #12: the panel's QUIC listener ends a client's stream that carried nothing for 60 s, and the
 * panel then ends the watch. A listener of our own records what the client says on its control
 * stream; the client is given a short ping interval so that the test does not wait a minute.
 */
describe("watch over QUIC, the client's control stream", () => {
  const dir = mkdtempSync(join(tmpdir(), "gp-watch-ping-"));
  let tls: TlsFiles;
  let endpoint: { address?: { port: number }; close(): Promise<void> | void };
  const said: { op?: unknown }[] = [];

  beforeAll(async () => {
    tls = await autoTls(dir);
    const { listen } = await import("node:quic");
    endpoint = (await listen(
      (session) => {
        session.opened.catch(() => {});
        const s = session as unknown as { onstream: (stream: Stream) => void };
        s.onstream = (stream) => {
          stream.closed.catch(() => {});
          void (async () => {
            for await (const frame of splitFrames(stream))
              said.push(decodeClientMessage(frame) as { op?: unknown });
          })().catch(() => {});
        };
      },
      {
        endpoint: { address: "127.0.0.1:0" },
        alpn: [WATCH_ALPN],
        sni: { "*": { keys: [createPrivateKey(tls.key)], certs: [Buffer.from(tls.cert)] } },
        transportParams: { maxDatagramFrameSize: MAX_DATAGRAM_FRAME },
      } as Parameters<typeof listen>[1],
    )) as unknown as typeof endpoint;
  });

  afterAll(async () => {
    await endpoint?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is not silent after its hello: it pings, so the panel's idle end never comes", async () => {
    const target = {
      host: "127.0.0.1",
      port: endpoint.address!.port,
      fingerprint: tls.fingerprint,
      servername: "localhost",
    };
    const stop = new AbortController();
    const link = quicStream(target, "gp_token", ["stats:local"], () => {}, stop.signal, 200);
    link.catch(() => {});
    try {
      for (let i = 0; i < 50 && said.length < 4; i++) await Bun.sleep(100);
    } finally {
      stop.abort();
      await link.catch(() => {});
    }
    expect(said[0]).toMatchObject({ op: "hello", token: "gp_token", topics: ["stats:local"] });
    const pings = said.slice(1);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    for (const p of pings) expect(p.op).toBe("ping");
  });
});
