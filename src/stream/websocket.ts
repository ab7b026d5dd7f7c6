import type { Caller } from "../auth/policy.ts";
import { SEND_BUFFER_LIMIT } from "../http/limits.ts";
import { CLOSE } from "../protocol/close-codes.ts";
import { type Sink, type TopicBus, TopicError } from "./bus.ts";
import { decodeClientMessage, encodeFrame } from "./frames.ts";

export { SEND_BUFFER_LIMIT };
// A bound per connection (SEND_BUFFER_LIMIT), one per user and one for the whole panel keep many
// slow clients from adding up.
export interface BufferLimits {
  connection: number;
  user: number;
  total: number;
}
export const BUFFER_LIMITS: BufferLimits = {
  connection: SEND_BUFFER_LIMIT,
  user: 8 * 1024 * 1024,
  total: 64 * 1024 * 1024,
};
const MAX_TOPICS = 256;
/** A client's `resync` of one topic is answered at most this often (each costs a keyframe). */
const RESYNC_MIN_MS = 500;
/** Newest-only frames (stats) wait for a client with less than this in flight; otherwise they are dropped. */
const NEWEST_ONLY_BACKLOG = 64 * 1024;
/** A client that has not taken a newest-only frame for this long is closed. */
const STALLED_AFTER_MS = 30_000;

/** How often a connection checks that its session or token still stands (logout, revocation, a new role). */
export const RECHECK_MS = 10_000;

/** For /metrics. */
export const streamCounters = { connections: 0 };

/**
 * Every open connection of one panel, for what concerns them all: a change of who may do what, and
 * how much they hold unsent together.
 */
export class StreamConnections {
  /** each connection, with its user and what it had queued when last sent to */
  private open = new Map<StreamConnection, { user: number; queued: number }>();
  private queuedByUser = new Map<number, number>();
  private queuedTotal = 0;
  private checkPending = false;
  private shedPending = false;
  /** users whose sum went over their bound since the last check */
  private usersOver = new Set<number>();

  constructor(
    readonly bus: TopicBus,
    readonly limits: BufferLimits = BUFFER_LIMITS,
  ) {}

  add(conn: StreamConnection, user: number): void {
    this.open.set(conn, { user, queued: 0 });
  }

  remove(conn: StreamConnection): void {
    const entry = this.open.get(conn);
    if (!entry) return;
    this.count(entry, -entry.queued);
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
      for (const conn of this.open.keys()) conn.checkCredentials();
    });
  }

  /**
   * A connection was sent a frame. Over the user's bound or the panel's, the slowest connection
   * goes (the one holding most), until what is left fits: a reading client holds next to nothing
   * and stays. The sums are upper bounds, so going over only schedules a check, once for a burst
   * of sends (a tick to a thousand clients is one burst): a send costs the same however many
   * connections there are.
   */
  sent(conn: StreamConnection): void {
    const entry = this.open.get(conn);
    if (!entry) return;
    this.measure(conn, entry);
    const overUser = (this.queuedByUser.get(entry.user) ?? 0) > this.limits.user;
    if (overUser) this.usersOver.add(entry.user);
    if (!overUser && this.queuedTotal <= this.limits.total) return;
    if (this.shedPending) return;
    this.shedPending = true;
    queueMicrotask(() => {
      this.shedPending = false;
      const users = new Set(this.usersOver);
      this.usersOver.clear();
      for (const user of users) {
        const mine = [...this.open].filter(([, e]) => e.user === user);
        this.shed(mine, this.limits.user, "too slow: your streams hold too much unsent");
      }
      if (this.queuedTotal > this.limits.total)
        this.shed([...this.open], this.limits.total, "too slow: the panel holds too much unsent");
    });
  }

  /**
   * What each connection had queued when last sent to may have drained since (nothing says when):
   * the sums are upper bounds, measured again before anyone is closed for them.
   */
  private shed(
    conns: [StreamConnection, { user: number; queued: number }][],
    limit: number,
    reason: string,
  ): void {
    let sum = 0;
    for (const [c, e] of conns) sum += this.measure(c, e);
    conns.sort(([, a], [, b]) => b.queued - a.queued);
    for (const [c, e] of conns) {
      if (sum <= limit) return;
      sum -= e.queued;
      c.shut(CLOSE.TOO_SLOW, reason);
    }
  }

  private measure(conn: StreamConnection, entry: { user: number; queued: number }): number {
    const queued = conn.queued();
    this.count(entry, queued - entry.queued);
    entry.queued = queued;
    return queued;
  }

  private count(entry: { user: number }, delta: number): void {
    this.queuedTotal += delta;
    this.queuedByUser.set(entry.user, (this.queuedByUser.get(entry.user) ?? 0) + delta);
    if (this.queuedByUser.get(entry.user) === 0) this.queuedByUser.delete(entry.user);
  }
}

/**
 * What a connection needs of its transport: Bun's ServerWebSocket as it is, or the body of a
 * streaming response (src/stream/feed.ts).
 */
export interface FramePipe {
  send(frame: Uint8Array): unknown;
  /** Bytes handed to the pipe that the client has not taken yet. */
  getBufferedAmount(): number;
  close(code: number, reason: string): void;
  /** The client said frames went missing (`resync`): a lossy transport may send more carefully. */
  lossy?(): void;
}

/**
 * One client of the stream: the adapter between a transport's pipe (a WebSocket, a streaming
 * fetch) and the topic bus. It knows nothing of what a topic means.
 */
export class StreamConnection implements Sink {
  private topics = new Set<string>();
  private pipe: FramePipe | undefined;
  private closed = false;
  private behindSince: number | undefined;
  private recheckTimer: ReturnType<typeof setInterval> | undefined;
  /** per topic: when the client's last `resync` was answered */
  private readonly resynced = new Map<string, number>();

  private readonly bus: TopicBus;

  /**
   * `recheck` identifies the caller again from the credentials it connected with: undefined once
   * they were revoked or expired.
   */
  constructor(
    private readonly connections: StreamConnections,
    private readonly caller: Caller,
    private readonly initialTopics: string[],
    private readonly recheck: () => Caller | undefined = () => caller,
    private readonly address = "",
  ) {
    this.bus = connections.bus;
  }

  open(pipe: FramePipe): void {
    this.pipe = pipe;
    streamCounters.connections++;
    this.connections.add(this, this.caller.user.id);
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
    let now: Caller | undefined;
    try {
      now = this.recheck();
    } catch {
      // The database could not be read (a failing disk): a stream that cannot be vouched for ends,
      // rather than the timer's error ending the panel.
      this.shut(CLOSE.CHECK_FAILED, "could not check your session: reconnect");
      return;
    }
    if (!now) this.shut(CLOSE.SESSION_ENDED, "session ended: log in again");
    else if (now.user.role !== this.caller.user.role)
      this.shut(CLOSE.ROLE_CHANGED, "your role changed: reconnect");
    else for (const topic of this.topics) this.recheckTopic(topic, now);
  }

  message(data: unknown): void {
    if (typeof data === "string") {
      this.pipe?.close(CLOSE.NOT_BINARY, "binary msgpack frames only");
      return;
    }
    let msg: { op?: unknown; topics?: unknown; t?: unknown; d?: unknown; opts?: unknown };
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
        void this.subscribe(topics, msg.opts);
        return;
      case "unsub":
        for (const t of topics) this.unsubscribe(t);
        return;
      case "ping":
        this.deliver(encodeFrame("", { k: "pong" }));
        return;
      case "resync":
        for (const t of topics) this.resync(t);
        return;
      case "input":
      case "resize":
        this.input(msg.op, msg.t, msg.d);
        return;
      default:
        this.sendError("", "bad_op", 'op must be "sub", "unsub", "ping", "resync", "input" or "resize"');
    }
  }

  /** The socket closed, or the server closes it: every topic lets it go (a shell is hung up on). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pipe) streamCounters.connections--;
    this.connections.remove(this);
    clearInterval(this.recheckTimer);
    for (const t of this.topics) this.bus.unsubscribe(t, this);
    this.topics.clear();
  }

  deliver(frame: Uint8Array): void {
    const pipe = this.pipe;
    if (!pipe || this.closed) return;
    if (pipe.getBufferedAmount() > this.connections.limits.connection) {
      this.shut(CLOSE.TOO_SLOW, "too slow");
      return;
    }
    pipe.send(frame);
    this.connections.sent(this);
  }

  /** Bytes sent to the socket and not yet taken by the client. */
  queued(): number {
    return this.closed ? 0 : (this.pipe?.getBufferedAmount() ?? 0);
  }

  offer(frame: Uint8Array): boolean {
    const pipe = this.pipe;
    if (!pipe || this.closed) return false;
    if (pipe.getBufferedAmount() <= NEWEST_ONLY_BACKLOG) {
      this.behindSince = undefined;
      pipe.send(frame);
      this.connections.sent(this);
      return true;
    }
    // Behind: drop this one. A client that stays behind this long is not reading at all.
    this.behindSince ??= Date.now();
    if (Date.now() - this.behindSince > STALLED_AFTER_MS) this.shut(CLOSE.TOO_SLOW, "too slow");
    return false;
  }

  ended(topic: string): void {
    this.topics.delete(topic);
  }

  /**
   * The client saw frames of `topic` missing (datagrams lost that the transport did not report):
   * the topic opened again for it, as `resend` does, at most every RESYNC_MIN_MS. A topic it is not
   * subscribed to is ignored.
   */
  private resync(topic: string): void {
    const now = Date.now();
    if (now - (this.resynced.get(topic) ?? 0) < RESYNC_MIN_MS) return;
    this.resynced.set(topic, now);
    this.pipe?.lossy?.();
    this.resend(topic);
  }

  /**
   * The transport lost frames of `topic` (a QUIC datagram): the topic's first frames again, which
   * for stats is a keyframe. Subscribing a sink that is subscribed already only opens it anew.
   */
  resend(topic: string): void {
    if (this.closed || !this.topics.has(topic)) return;
    this.bus.subscribe(topic, this, { caller: this.caller, address: this.address }).catch(() => {});
  }

  private async subscribe(topics: string[], options?: unknown): Promise<void> {
    for (const topic of topics) {
      if (this.topics.has(topic)) continue;
      if (this.topics.size >= MAX_TOPICS) {
        this.sendError(topic, "too_many_topics", `at most ${MAX_TOPICS} topics per connection`);
        continue;
      }
      this.topics.add(topic);
      try {
        await this.bus.subscribe(topic, this, { caller: this.caller, address: this.address, options });
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
  shut(code: number, reason: string): void {
    this.pipe?.close(code, reason);
    this.close();
  }

  private unsubscribe(topic: string): void {
    if (this.topics.delete(topic)) this.bus.unsubscribe(topic, this);
  }

  private sendError(topic: string, code: string, message: string): void {
    this.deliver(encodeFrame(topic, { k: "error", d: { code, message } }));
  }
}
