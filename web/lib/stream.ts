/** The one live WebSocket (docs/protocol.md): topic subscriptions that survive reconnects. */
import { CLOSE } from "../../src/protocol/close-codes.ts";
import {
  type ClientMessage,
  decodeFrame,
  type ExecOptions,
  encodeMessage,
  type Frame,
} from "../../src/protocol/frames.ts";

/** `connecting` until the first open; `lost` whenever the socket is down after that or never came up. */
export type StreamStatus = "connecting" | "open" | "lost";

/** `first` is true for the first frame after each (re)subscription: a snapshot or tail, not a delta. */
export type TopicHandler = (kind: string, data: unknown, first: boolean) => void;

interface Subscription {
  handlers: Set<TopicHandler>;
  fresh: boolean;
  /** what an exec topic runs, sent with each `sub` of it */
  opts?: ExecOptions;
}

/** Close codes with which the server ends a stream over its credentials: reconnecting as is cannot help. */
export type EndCode = typeof CLOSE.SESSION_ENDED | typeof CLOSE.ROLE_CHANGED;

const MIN_DELAY = 500;
const MAX_DELAY = 10_000;
const PING_EVERY = 25_000;
const INPUT_PIECE = 16 * 1024;
/** Frames after which the server has let the subscriber go. */
const LAST_KINDS = new Set(["end", "error", "exit"]);

export class Stream {
  #ws: WebSocket | null = null;
  #subs = new Map<string, Subscription>();
  #status: StreamStatus = "connecting";
  #statusListeners = new Set<(status: StreamStatus) => void>();
  #endListeners = new Set<(code: EndCode) => void>();
  #delay = MIN_DELAY;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #heard = false;
  #closed = false;

  constructor(private readonly url: string) {
    this.#connect();
  }

  get status(): StreamStatus {
    return this.#status;
  }

  onStatus(listener: (status: StreamStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** The server ended the stream (CLOSE.SESSION_ENDED, CLOSE.ROLE_CHANGED): it stays down until `reconnect()`. */
  onEnded(listener: (code: EndCode) => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  /** After the server ended the stream, once the cause is dealt with (e.g. the user reloaded). */
  reconnect(): void {
    if (this.#closed || this.#ws) return;
    clearTimeout(this.#retry);
    this.#delay = MIN_DELAY;
    this.#connect();
  }

  /**
   * The server sends one snapshot per subscription, so a handler joining a topic that is already
   * subscribed sees only the frames after it. `end`, `exit` and `error` frames finish the subscription:
   * subscribe again to resume.
   */
  subscribe(topic: string, handler: TopicHandler, opts?: ExecOptions): () => void {
    let sub = this.#subs.get(topic);
    if (!sub) {
      sub = { handlers: new Set(), fresh: true, ...(opts ? { opts } : {}) };
      this.#subs.set(topic, sub);
      this.#send({ op: "sub", topics: [topic], ...(opts ? { opts } : {}) });
    }
    sub.handlers.add(handler);
    const mine = sub;
    return () => {
      if (this.#subs.get(topic) !== mine) return;
      mine.handlers.delete(handler);
      if (mine.handlers.size > 0) return;
      this.#subs.delete(topic);
      this.#send({ op: "unsub", topics: [topic] });
    };
  }

  /** Keystrokes for a topic that takes them (exec), in pieces well below the server's 64 KiB per message. */
  input(topic: string, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += INPUT_PIECE) {
      this.#send({ op: "input", t: topic, d: bytes.subarray(at, at + INPUT_PIECE) });
    }
  }

  resize(topic: string, cols: number, rows: number): void {
    this.#send({ op: "resize", t: topic, d: { cols, rows } });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#drop();
  }

  #connect(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    ws.onopen = () => {
      this.#delay = MIN_DELAY;
      this.#heard = true;
      this.#pinger = setInterval(() => this.#ping(), PING_EVERY);
      const topics: string[] = [];
      for (const [topic, sub] of this.#subs) {
        sub.fresh = true;
        // Options belong to one topic: such a topic goes in a `sub` of its own.
        if (sub.opts) this.#send({ op: "sub", topics: [topic], opts: sub.opts });
        else topics.push(topic);
      }
      if (topics.length > 0) this.#send({ op: "sub", topics });
      this.#setStatus("open");
    };
    ws.onmessage = (ev) => {
      this.#heard = true;
      if (ev.data instanceof ArrayBuffer) this.#dispatch(new Uint8Array(ev.data));
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      if (ev.code === CLOSE.SESSION_ENDED || ev.code === CLOSE.ROLE_CHANGED) this.#ended(ev.code);
      else this.#lost();
    };
  }

  #dispatch(bytes: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      console.warn("ghostpanel: dropped a malformed stream frame", err);
      return;
    }
    const sub = this.#subs.get(frame.t);
    if (!sub) return;
    const first = sub.fresh;
    sub.fresh = false;
    // Drop the subscription before the handlers run so one of them may subscribe afresh.
    if (LAST_KINDS.has(frame.k)) this.#subs.delete(frame.t);
    for (const handler of [...sub.handlers]) handler(frame.k, frame.d, first);
  }

  // A socket on a dead network path can stay "open" for minutes: no answer to the last ping means
  // it is gone, so reconnect without waiting for the browser to notice.
  #ping(): void {
    if (!this.#heard) {
      this.#lost();
      return;
    }
    this.#heard = false;
    this.#send({ op: "ping" });
  }

  #lost(): void {
    this.#drop();
    if (this.#closed) return;
    this.#setStatus("lost");
    this.#retry = setTimeout(() => this.#connect(), this.#delay);
    this.#delay = Math.min(this.#delay * 2, MAX_DELAY);
  }

  #ended(code: EndCode): void {
    this.#drop();
    this.#setStatus("lost");
    for (const listener of this.#endListeners) listener(code);
  }

  #drop(): void {
    clearInterval(this.#pinger);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
  }

  #send(msg: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encodeMessage(msg));
  }

  #setStatus(status: StreamStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#statusListeners) listener(status);
  }
}

export function streamUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/v1/stream`;
}
