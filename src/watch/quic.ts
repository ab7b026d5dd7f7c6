import type { QuicSession } from "node:quic";
import { splitFrames } from "../protocol/feed.ts";
import { decodeFrame, encodeMessage, type Frame } from "../protocol/frames.ts";
import { MAX_DATAGRAM_FRAME, WATCH_ALPN, WATCH_PING_MS } from "../protocol/watch-quic.ts";
import { DatagramGaps } from "./datagram-gaps.ts";

/** No handshake within this: UDP does not get through, and a fallback may be tried. */
const OPEN_TIMEOUT_MS = 4_000;

/** The QUIC listener did not answer: another transport may (as the agent falls back to WebSocket). */
export class QuicUnreachable extends Error {}

/** The panel refused this client (token, rights) or its certificate was not the pinned one. */
export class QuicRefused extends Error {}

export interface QuicTarget {
  host: string;
  port: number;
  /** the certificate's SHA-256, `AB:CD:…`, that the listener must present */
  fingerprint: string;
  /** the name the certificate is asked for (SNI) */
  servername: string;
}

interface Stream extends AsyncIterable<Uint8Array[]> {
  readonly closed: Promise<void>;
  readonly writer: { write(chunk: Uint8Array): Promise<unknown>; end(): Promise<unknown> };
}

/**
 * node:quic warns on import that it is experimental: on a terminal user's screen that line says
 * nothing they can act on, so this one warning is kept off stderr.
 */
async function loadQuic(): Promise<typeof import("node:quic")> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes("quic"))
      (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await import("node:quic");
  } finally {
    process.emitWarning = emit;
  }
}

function prefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength);
  out.set(bytes, 4);
  return out;
}

/**
 * The live frames of `topics` over QUIC (docs/protocol.md, "Watch over QUIC"): control frames from
 * the first stream, stats frames from datagrams, all to `onFrame`, until the session ends (or
 * `signal` ends it). A ping every `pingMs` keeps the control stream from the panel's idle end.
 */
export async function quicStream(
  target: QuicTarget,
  token: string,
  topics: string[],
  onFrame: (f: Frame) => void,
  signal?: AbortSignal,
  pingMs = WATCH_PING_MS,
): Promise<void> {
  const { connect } = await loadQuic();
  const where = `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
  let session: QuicSession;
  try {
    session = await connect(where, {
      alpn: WATCH_ALPN,
      servername: target.servername,
      // Not a CA's word: the one certificate the panel named over HTTPS, or --fingerprint.
      verifyPeer: "manual",
      transportParams: { maxDatagramFrameSize: MAX_DATAGRAM_FRAME },
    } as Parameters<typeof connect>[1]);
  } catch (err) {
    throw new QuicUnreachable(`no QUIC listener at ${where}: ${(err as Error).message}`);
  }
  session.closed.catch(() => {});
  signal?.addEventListener("abort", () => session.destroy(), { once: true });
  const opened = await Promise.race([
    session.opened.then(
      () => true,
      () => false,
    ),
    Bun.sleep(OPEN_TIMEOUT_MS).then(() => false),
  ]);
  if (!opened) {
    session.destroy();
    throw new QuicUnreachable(`no QUIC answer from ${where} within ${OPEN_TIMEOUT_MS / 1000} s`);
  }
  let pinger: ReturnType<typeof setInterval> | undefined;
  let control: Stream | undefined;
  const gaps = new DatagramGaps();
  try {
    const presented = (session as unknown as { peerCertificate?: { fingerprint256?: string } })
      .peerCertificate?.fingerprint256;
    if (presented !== target.fingerprint)
      throw new QuicRefused(
        `refused the panel's QUIC listener at ${where}: its certificate ${presented ?? "(none)"} is not the pinned ${target.fingerprint}`,
      );
    (session as unknown as { ondatagram: (d: Uint8Array) => void }).ondatagram = (d) => {
      let frame: Frame;
      try {
        frame = decodeFrame(d);
      } catch {
        return; // not a frame: a datagram is dropped, never the session
      }
      if (gaps.seen(frame.t, frame.k, frame.d))
        void control?.writer
          .write(prefixed(encodeMessage({ op: "resync", topics: [frame.t] })))
          .catch(() => {});
      onFrame(frame);
    };
    const stream = (await session.createBidirectionalStream()) as unknown as Stream;
    control = stream;
    stream.closed.catch(() => {});
    await stream.writer.write(prefixed(encodeMessage({ op: "hello", token, topics })));
    pinger = setInterval(
      () => void stream.writer.write(prefixed(encodeMessage({ op: "ping" }))).catch(() => {}),
      pingMs,
    );
    for await (const bytes of splitFrames(stream)) {
      const f = decodeFrame(bytes);
      if (f.t === "" && f.k === "error") {
        const { code, message } = (f.d ?? {}) as { code?: string; message?: string };
        if (code === "unauthorized") throw new QuicRefused(`the panel refused the token: ${message}`);
        throw new QuicRefused(`the panel refused the watch: ${message ?? code}`);
      }
      if (f.t === "" && f.k === "close") {
        const { code, reason } = (f.d ?? {}) as { code?: number; reason?: string };
        throw new Error(`the live stream closed: ${code} ${reason}`);
      }
      onFrame(f);
    }
  } finally {
    clearInterval(pinger);
    session.destroy();
  }
}
