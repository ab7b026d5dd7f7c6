import type { QuicSession } from "node:quic";
import { type Authenticator, identify } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { splitFrames } from "../protocol/feed.ts";
import { HELLO_TIMEOUT_MS, onControlStream, withTimeout } from "./control-stream.ts";
import { type Datagrams, statsDatagrams } from "./datagram-frames.ts";
import { lengthPrefixed } from "./feed.ts";
import { decodeClientMessage, encodeFrame } from "./frames.ts";
import { LossyLink, REPEAT_AFTER_MS } from "./lossy-link.ts";
import type { FramePipe, StreamConnections } from "./websocket.ts";
import { StreamConnection } from "./websocket.ts";

/** Datagrams whose fate is not known yet, remembered per session; older ones are forgotten. */
const MAX_TRACKED = 4096;
/** How long after a datagram the session would not send its topic's keyframe is tried again. */
const NOT_SENT_RETRY_MS = 200;

interface QuicStream extends AsyncIterable<Uint8Array[]> {
  readonly closed: Promise<void>;
  readonly writer: { write(chunk: Uint8Array): Promise<unknown>; end(): Promise<unknown> };
  destroy(error?: Error): void;
}

/** What node:quic gives a session that the typings of this Bun lack. */
interface WatchSession {
  readonly closed: Promise<void>;
  readonly maxDatagramSize: number;
  onstream: ((stream: QuicStream) => void) | undefined;
  ondatagramstatus: ((id: bigint, status: string) => void) | undefined;
  sendDatagram(data: Uint8Array): Promise<bigint>;
  destroy(): void;
}

/**
 * A `ghostpanel watch` client on the agent listener (ALPN WATCH_ALPN): the QUIC adapter of a
 * StreamConnection, as the WebSocket and the feed are theirs. The client's first stream is the
 * control stream: its hello (an API token, the topics), then client messages one way and frames
 * the other, length-prefixed as in the feed. Stats frames go as datagrams instead, cut to fit
 * (datagram-frames.ts), twice while the link is losing (lossy-link.ts); when the session reports
 * a datagram lost (every copy of it), the topic is opened again for this client, which sends it a
 * keyframe.
 */
export function serveQuicWatch(
  quic: QuicSession,
  { connections, auth, policy }: { connections: StreamConnections; auth: Authenticator; policy: Policy },
  address: string,
): void {
  const session = quic as unknown as WatchSession;
  onControlStream(session, (stream) => serveControl(session, stream, { connections, auth, policy }, address));
}

async function serveControl(
  session: WatchSession,
  stream: QuicStream,
  { connections, auth, policy }: { connections: StreamConnections; auth: Authenticator; policy: Policy },
  address: string,
): Promise<void> {
  const frames = splitFrames(stream)[Symbol.asyncIterator]();
  const writer = stream.writer;
  // One write at a time, in order; what is queued counts as the pipe's unsent bytes.
  let unsent = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const write = (frame: Uint8Array) => {
    const bytes = lengthPrefixed(frame);
    unsent += bytes.byteLength;
    writing = writing
      .then(() => writer.write(bytes))
      .then(
        () => {
          unsent -= bytes.byteLength;
        },
        () => session.destroy(),
      );
  };
  const end = () => {
    writing = writing.then(() => writer.end()).catch(() => {});
    return writing;
  };
  const refuse = async (code: string, message: string) => {
    write(encodeFrame("", { k: "error", d: { code, message } }));
    await end();
    setTimeout(() => session.destroy(), 200);
  };

  const first = await withTimeout(frames.next(), HELLO_TIMEOUT_MS);
  let hello: { op?: unknown; token?: unknown; topics?: unknown } | undefined;
  try {
    hello = first.done ? undefined : (decodeClientMessage(first.value) as typeof hello);
  } catch {
    hello = undefined;
  }
  if (hello?.op !== "hello" || typeof hello.token !== "string") {
    await refuse("bad_frame", "the first message must be a hello with an API token");
    return;
  }
  const headers = new Headers({ authorization: `Bearer ${hello.token}` });
  const caller = identify(auth, headers, undefined);
  if (!caller) {
    await refuse("unauthorized", "the token is not valid (revoked, expired or mistyped)");
    return;
  }
  if (!policy.can(caller, "stream:read")) {
    await refuse("forbidden", "this token may not read the live stream");
    return;
  }
  const topics = Array.isArray(hello.topics) ? hello.topics.filter((t) => typeof t === "string") : [];
  const conn = new StreamConnection(
    connections,
    caller,
    topics,
    () => identify(auth, headers, undefined),
    address,
  );

  // What each datagram in flight carried (shared by its copies); the first id of the newest
  // keyframe sent per topic, so that the loss of a datagram that keyframe replaced asks for nothing.
  interface Sent {
    topic: string;
    copies: number;
    lost: number;
  }
  const inFlight = new Map<bigint, Sent>();
  const keySince = new Map<string, bigint>();
  const link = new LossyLink();
  // A keyframe a moment later, one at a time per topic: for a datagram the session would not send
  // (id 0: over its congestion window, say), which no status will ever report.
  const retrying = new Set<string>();
  const resendSoon = (topic: string) => {
    if (retrying.has(topic)) return;
    retrying.add(topic);
    setTimeout(() => {
      retrying.delete(topic);
      conn.resend(topic);
    }, NOT_SENT_RETRY_MS);
  };
  /**
   * One copy of `sent` gone (`id` undefined: never sent): once every copy is, its topic needs a
   * keyframe, unless a newer keyframe went after it. Only a loss on the path makes the link lossy:
   * one refused here is the session's own congestion, which copies would only add to.
   */
  const copyLost = (sent: Sent, id?: bigint) => {
    if (id !== undefined) link.lost();
    if (++sent.lost < sent.copies) return;
    if (id === undefined) resendSoon(sent.topic);
    else if (id >= (keySince.get(sent.topic) ?? 0n)) conn.resend(sent.topic);
  };
  session.ondatagramstatus = (id, status) => {
    const sent = inFlight.get(id);
    inFlight.delete(id);
    if (sent && status === "lost") copyLost(sent, id);
  };
  const sendCopy = async (part: Uint8Array, sent: Sent): Promise<bigint> => {
    const id = await session.sendDatagram(part);
    if (id === 0n) {
      // One container's row over a datagram on its own (a name of hundreds of characters) can
      // never go: that container is left out, rather than keyframes sent forever.
      if (part.byteLength <= session.maxDatagramSize) copyLost(sent);
      return id;
    }
    inFlight.set(id, sent);
    if (inFlight.size > MAX_TRACKED) inFlight.delete(inFlight.keys().next().value!);
    return id;
  };
  const sendDatagrams = async ({ topic, key, parts }: Datagrams) => {
    const copies = link.copies();
    for (const [i, part] of parts.entries()) {
      const sent: Sent = { topic, copies, lost: 0 };
      const id = await sendCopy(part, sent);
      if (key && i === 0 && id !== 0n) keySince.set(topic, id);
      if (copies === 2)
        setTimeout(() => {
          if (!closing) sendCopy(part, sent).catch(() => session.destroy());
        }, REPEAT_AFTER_MS);
    }
  };
  let closing = false;
  const pipe: FramePipe = {
    send(frame) {
      if (closing) return;
      const datagrams = statsDatagrams(frame, session.maxDatagramSize);
      if (datagrams) sendDatagrams(datagrams).catch(() => session.destroy());
      else write(frame);
    },
    getBufferedAmount: () => unsent,
    close(code, reason) {
      if (closing) return;
      closing = true;
      write(encodeFrame("", { k: "close", d: { code, reason } }));
      void end();
      setTimeout(() => session.destroy(), 200);
    },
  };
  conn.open(pipe);
  session.closed.finally(() => conn.close()).catch(() => {});
  try {
    for (;;) {
      const next = await frames.next();
      if (next.done) break;
      conn.message(next.value);
    }
  } catch {
    // reset, or not our framing: the connection ends either way
  } finally {
    // The client ended its stream: it is done watching.
    conn.close();
    if (!closing) session.destroy();
  }
}
