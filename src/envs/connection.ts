import type { Engine } from "../engine/engine.ts";
import { toEngineError } from "../engine/errors.ts";

import type { EngineStatus } from "../protocol/views.ts";

export type { EngineStatus };

/** One line of the engine's /events stream, as far as the mirrors read it. */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  /** before API 1.22 */
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  /** Unix nanoseconds */
  timeNano?: number;
}

/**
 * Why a mirror reads the engine's whole list: it has just (re)connected and may have missed
 * events, a slow timer checks that nothing drifted, or the engine has no events and is polled.
 */
export type SyncReason = "connect" | "reconcile" | "poll";

/** A mirror of one kind of engine object (containers, images, …), fed by its engine's connection. */
export interface ResourceMirror {
  /** the `Type` of the /events it follows */
  readonly eventType: string;
  sync(reason: SyncReason): Promise<void>;
  onEvent(event: EngineEvent): void;
}

export interface ConnectionTiming {
  backoffMinMs: number;
  backoffMaxMs: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  /** how often the whole lists are compared with the mirrors while events flow */
  reconcileMs: number;
  /** for engines without /events: how often the lists are read again */
  pollMs: number;
}

export const DEFAULT_TIMING: ConnectionTiming = {
  backoffMinMs: 500,
  backoffMaxMs: 10_000,
  heartbeatMs: 10_000,
  heartbeatTimeoutMs: 5_000,
  reconcileMs: 30_000,
  pollMs: 2_000,
};

/**
 * The one connection the panel keeps to an engine: its status, the backoff while it is away, a
 * heartbeat (a dead link never closes the event stream, it only goes quiet), and the single
 * /events subscription, whose events go to the mirror of their type. After every (re)connect and
 * on a slow timer each mirror compares itself with the engine's own list.
 */
export class EngineConnection {
  private readonly mirrors = new Map<string, ResourceMirror>();
  private readonly statusListeners = new Set<(status: EngineStatus, error: string | null) => void>();
  private readonly eventListeners = new Set<(event: EngineEvent) => void>();
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  status: EngineStatus = "connecting";
  error: string | null = null;

  constructor(
    readonly engine: Engine,
    private readonly timing: ConnectionTiming = DEFAULT_TIMING,
  ) {}

  attach(mirror: ResourceMirror): void {
    this.mirrors.set(mirror.eventType, mirror);
  }

  onStatus(listener: (status: EngineStatus, error: string | null) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Every event of the one /events stream (of the types the mirrors follow), after its mirror has
   * it: what shows events to people reads them here instead of opening a stream of its own.
   */
  onEvent(listener: (event: EngineEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { backoffMinMs: min, backoffMaxMs: max } = this.timing;
    let backoff = min;
    while (!this.stopped) {
      const upSince = Date.now();
      try {
        await this.engine.connect();
        if (this.engine.capabilities?.events) await this.follow();
        else await this.poll();
      } catch (err) {
        this.setStatus("down", toEngineError(err).message);
      }
      if (this.stopped) break;
      if (this.status !== "down") this.setStatus("down", this.error ?? "engine connection closed");
      // A connection that held for a while earns a quick first retry.
      if (Date.now() - upSince > max) backoff = min;
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, max);
    }
  }

  private async follow(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    let reason = "engine event stream closed";
    const filters = encodeURIComponent(JSON.stringify({ type: [...this.mirrors.keys()] }));
    const events = await this.engine.stream(`/events?filters=${filters}`, abort.signal);
    // Subscribed before the lists are read, so no change between the two is missed.
    const consumed = this.consume(events);
    const heartbeat = setInterval(() => {
      this.engine.ping(AbortSignal.timeout(this.timing.heartbeatTimeoutMs)).catch((err) => {
        reason = `engine stopped answering: ${toEngineError(err).message}`;
        abort.abort();
      });
    }, this.timing.heartbeatMs);
    // Events say what changed; this says what they did not (a failed restart sends none).
    const reconcile = setInterval(() => {
      void this.syncAll("reconcile").catch(() => {});
    }, this.timing.reconcileMs);
    try {
      await this.syncAll("connect");
      this.setStatus("up", null);
      const failure = await consumed;
      if (failure && !abort.signal.aborted) reason = failure;
    } finally {
      clearInterval(heartbeat);
      clearInterval(reconcile);
      abort.abort();
    }
    this.error = reason;
  }

  private async poll(): Promise<void> {
    await this.syncAll("connect");
    this.setStatus("up", null);
    while (!this.stopped) {
      await this.sleep(this.timing.pollMs);
      if (this.stopped) return;
      await this.syncAll("poll");
    }
  }

  private async syncAll(reason: SyncReason): Promise<void> {
    await Promise.all([...this.mirrors.values()].map((m) => m.sync(reason)));
  }

  /** Reads events until the stream ends; returns why it failed, if it did. */
  private async consume(events: ReadableStream<Uint8Array>): Promise<string | undefined> {
    const decoder = new TextDecoder();
    let carry = "";
    try {
      const reader = events.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        const lines = (carry + decoder.decode(value, { stream: true })).split("\n");
        carry = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) this.dispatch(line);
      }
    } catch (err) {
      return toEngineError(err).message;
    }
  }

  private dispatch(line: string): void {
    let event: EngineEvent;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    // Engines before API 1.22 send container events without a Type.
    this.mirrors.get(event.Type ?? "container")?.onEvent(event);
    for (const l of this.eventListeners) l(event);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private setStatus(status: EngineStatus, error: string | null): void {
    if (status === this.status && error === this.error) return;
    this.status = status;
    this.error = error;
    for (const l of this.statusListeners) l(status, error);
  }
}
