import type { ServerWebSocket } from "bun";
import type { WSContext } from "hono/ws";
import type { Caller } from "../auth/policy.ts";
import { type Sink, type TopicBus, TopicError } from "./bus.ts";
import { decodeClientMessage, encodeFrame } from "./frames.ts";

/** Past this many bytes waiting to go out, a client is too slow to keep: it is closed and reconnects. */
export const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;
const MAX_TOPICS = 256;
/** Newest-only frames (stats) wait for a client with less than this in flight; otherwise they are dropped. */
const NEWEST_ONLY_BACKLOG = 64 * 1024;
/** A client that has not taken a newest-only frame for this long is closed. */
const STALLED_AFTER_MS = 30_000;

/** How often a connection checks that its session or token still stands (logout, revocation, a new role). */
export const RECHECK_MS = 10_000;

/** For /metrics. */
export const streamCounters = { connections: 0 };

/** Every open connection of one panel, for what concerns them all: a change of who may do what. */
export class StreamConnections {
  private open = new Set<WebSocketConnection>();
  private checkPending = false;

  constructor(readonly bus: TopicBus) {}

  add(conn: WebSocketConnection): void {
    this.open.add(conn);
  }

  remove(conn: WebSocketConnection): void {
    this.open.delete(conn);
  }

  /**
   * Someone's access may have changed: every connection checks its credentials and topics again,
   * once for a burst of changes (a new role revokes sessions and drops cached ownership).
   */
  accessChanged(): void {
    if (this.checkPending) return;
    this.checkPending = true;
    queueMicrotask(() => {
      this.checkPending = false;
      for (const conn of this.open) conn.checkCredentials();
    });
  }
}

/**
 * One WebSocket client: the transport adapter between a socket and the topic bus. It knows
 * nothing of what a topic means.
 */
export class WebSocketConnection implements Sink {
  private topics = new Set<string>();
  private ws: ServerWebSocket<unknown> | undefined;
  private closed = false;
  private behindSince: number | undefined;
  private recheckTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * `recheck` identifies the caller again from the credentials it connected with: undefined once
   * they were revoked or expired.
   */
  private readonly bus: TopicBus;

  constructor(
    private readonly connections: StreamConnections,
    private readonly caller: Caller,
    private readonly initialTopics: string[],
    private readonly recheck: () => Caller | undefined = () => caller,
    private readonly address = "",
  ) {
    this.bus = connections.bus;
  }

  open(ws: WSContext): void {
    this.ws = ws.raw as ServerWebSocket<unknown>;
    streamCounters.connections++;
    this.connections.add(this);
    // The stores announce changes (StreamConnections.accessChanged); this catches what they cannot,
    // a session or token reaching its expiry.
    this.recheckTimer = setInterval(() => this.checkCredentials(), RECHECK_MS);
    void this.subscribe(this.initialTopics);
  }

  /**
   * A stream lives no longer than the session or token that opened it, nor past a change of role;
   * a topic, no longer than the policy allows it (a shell ends when its user leaves the team).
   */
  checkCredentials(): void {
    const now = this.recheck();
    if (!now) this.shut(4401, "session ended: log in again");
    else if (now.user.role !== this.caller.user.role) this.shut(4403, "your role changed: reconnect");
    else for (const topic of this.topics) this.recheckTopic(topic, now);
  }

  message(data: unknown): void {
    if (typeof data === "string") {
      this.ws?.close(1003, "binary msgpack frames only");
      return;
    }
    let msg: { op?: unknown; topics?: unknown; t?: unknown; d?: unknown };
    try {
      msg = decodeClientMessage(new Uint8Array(data as ArrayBuffer)) as typeof msg;
    } catch {
      this.sendError("", "bad_frame", "frame is not msgpack");
      return;
    }
    const topics = Array.isArray(msg?.topics)
      ? msg.topics.filter((t): t is string => typeof t === "string")
      : [];
    switch (msg?.op) {
      case "sub":
        void this.subscribe(topics);
        return;
      case "unsub":
        for (const t of topics) this.unsubscribe(t);
        return;
      case "ping":
        this.deliver(encodeFrame("", { k: "pong" }));
        return;
      case "input":
      case "resize":
        this.input(msg.op, msg.t, msg.d);
        return;
      default:
        this.sendError("", "bad_op", 'op must be "sub", "unsub", "ping", "input" or "resize"');
    }
  }

  /** The socket closed, or the server closes it: every topic lets it go (a shell is hung up on). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ws) streamCounters.connections--;
    this.connections.remove(this);
    clearInterval(this.recheckTimer);
    for (const t of this.topics) this.bus.unsubscribe(t, this);
    this.topics.clear();
  }

  deliver(frame: Uint8Array): void {
    const ws = this.ws;
    if (!ws || this.closed) return;
    if (ws.getBufferedAmount() > SEND_BUFFER_LIMIT) {
      this.shut(1013, "too slow");
      return;
    }
    ws.send(frame);
  }

  offer(frame: Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || this.closed) return false;
    if (ws.getBufferedAmount() <= NEWEST_ONLY_BACKLOG) {
      this.behindSince = undefined;
      ws.send(frame);
      return true;
    }
    // Behind: drop this one. A client that stays behind this long is not reading at all.
    this.behindSince ??= Date.now();
    if (Date.now() - this.behindSince > STALLED_AFTER_MS) this.shut(1013, "too slow");
    return false;
  }

  ended(topic: string): void {
    this.topics.delete(topic);
  }

  private async subscribe(topics: string[]): Promise<void> {
    for (const topic of topics) {
      if (this.topics.has(topic)) continue;
      if (this.topics.size >= MAX_TOPICS) {
        this.sendError(topic, "too_many_topics", `at most ${MAX_TOPICS} topics per connection`);
        continue;
      }
      this.topics.add(topic);
      try {
        await this.bus.subscribe(topic, this, { caller: this.caller, address: this.address });
        // The socket may have closed, the client unsubscribed, or its access changed, while the
        // topic opened.
        if (this.closed || !this.topics.has(topic)) this.bus.unsubscribe(topic, this);
        else this.recheckTopic(topic, this.caller);
      } catch (err) {
        this.topics.delete(topic);
        if (err instanceof TopicError) this.sendError(topic, err.code, err.message);
        else this.sendError(topic, "internal", "could not subscribe");
      }
    }
  }

  private input(op: "input" | "resize", topic: unknown, data: unknown): void {
    if (typeof topic !== "string") {
      this.sendError("", "bad_frame", `"${op}" needs a topic (t)`);
      return;
    }
    try {
      this.bus.input(topic, this, { k: op, d: data });
    } catch (err) {
      if (err instanceof TopicError) this.sendError(topic, err.code, err.message);
      else this.sendError(topic, "internal", `could not take "${op}"`);
    }
  }

  private recheckTopic(topic: string, caller: Caller): void {
    const refusal = this.bus.recheck(topic, this, caller);
    if (!refusal) return;
    this.topics.delete(topic);
    this.sendError(topic, refusal.code, refusal.message);
  }

  /** Closes from this side; the topics let go now, not when the client answers the close. */
  private shut(code: number, reason: string): void {
    this.ws?.close(code, reason);
    this.close();
  }

  private unsubscribe(topic: string): void {
    if (this.topics.delete(topic)) this.bus.unsubscribe(topic, this);
  }

  private sendError(topic: string, code: string, message: string): void {
    this.deliver(encodeFrame(topic, { k: "error", d: { code, message } }));
  }
}
