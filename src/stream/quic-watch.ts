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
/**
 * A datagram whose fate QUIC has not told after this long is taken as lost. Bun 1.4.4's node:quic
 * does not report every one: a watch through a lossy relay kept a keyframe part missing for good,
 * both copies gone and no status for them (docs/decisions.md).
 */
const STATUS_TIMEOUT_MS = 2_000;
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
  const inFlight = new Map<bigint, { sent: Sent; at: number }>();
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
   * keyframe, unless a newer keyframe went after it. Only a loss on the path makes the link lossy
   * (reported, or never acknowledged): one refused here is the session's own congestion, which
   * copies would only add to.
   */
  const copyLost = (sent: Sent, id?: bigint) => {
    if (id !== undefined) link.lost();
    if (++sent.lost < sent.copies) return;
    if (id === undefined) resendSoon(sent.topic);
    else if (id >= (keySince.get(sent.topic) ?? 0n)) conn.resend(sent.topic);
  };
  session.ondatagramstatus = (id, status) => {
    const entry = inFlight.get(id);
    inFlight.delete(id);
    if (entry && status !== "acknowledged") copyLost(entry.sent, id);
  };
  const sendCopy = async (part: Uint8Array, sent: Sent): Promise<bigint> => {
    const id = await session.sendDatagram(part);
    if (id === 0n) {
      // One container's row over a datagram on its own (a name of hundreds of characters) can
      // never go: that container is left out, rather than keyframes sent forever.
      if (part.byteLength <= session.maxDatagramSize) copyLost(sent);
      return id;
    }
    inFlight.set(id, { sent, at: Date.now() });
    if (inFlight.size > MAX_TRACKED) inFlight.delete(inFlight.keys().next().value!);
    return id;
  };
  // Copies not sent yet, per topic. A copy must never come after a later frame of its topic: the
  // client drops a keyframe part older than a delta it has applied, so a part whose first copy was
  // lost would leave its containers out with no loss to bring a keyframe. A newer frame sends them
  // first.
  const pendingCopies = new Map<string, (() => void)[]>();
  /** Datagrams sent in order, so the oldest come first: those past STATUS_TIMEOUT_MS are lost. */
  const expireSilent = () => {
    const before = Date.now() - STATUS_TIMEOUT_MS;
    for (const [id, { sent, at }] of inFlight) {
      if (at > before) break;
      inFlight.delete(id);
      copyLost(sent, id);
    }
  };
  const sendDatagrams = async ({ topic, key, parts }: Datagrams) => {
    expireSilent();
    const due = pendingCopies.get(topic) ?? [];
    pendingCopies.delete(topic);
    for (const now of due) now();
    const copies = link.copies();
    for (const [i, part] of parts.entries()) {
      const sent: Sent = { topic, copies, lost: 0 };
      const id = await sendCopy(part, sent);
      if (key && i === 0 && id !== 0n) keySince.set(topic, id);
      if (copies === 2) {
        const send = () => {
          clearTimeout(timer);
          if (!closing) sendCopy(part, sent).catch(() => session.destroy());
        };
        const timer = setTimeout(() => {
          const list = pendingCopies.get(topic) ?? [];
          if (list.includes(send)) list.splice(list.indexOf(send), 1);
          send();
        }, REPEAT_AFTER_MS);
        const list = pendingCopies.get(topic) ?? [];
        list.push(send);
        pendingCopies.set(topic, list);
      }
    }
  };
  let closing = false;
  let datagramsSent: Promise<void> = Promise.resolve();
  const pipe: FramePipe = {
    send(frame) {
      if (closing) return;
      const datagrams = statsDatagrams(frame, session.maxDatagramSize);
      // One frame's datagrams after another's, never interleaved (a keyframe a loss asked for
      // while a delta's parts go out, say): the client takes parts in the order frames were made.
      if (datagrams)
        datagramsSent = datagramsSent.then(() => sendDatagrams(datagrams)).catch(() => session.destroy());
      else write(frame);
    },
    getBufferedAmount: () => unsent,
    // The client's word is the one sure sign of loss (QUIC's reports are not: lossy-link.ts).
    lossy: () => link.lost(),
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
