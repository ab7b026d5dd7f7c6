import type Dockerode from "dockerode";
import type { EngineClient } from "../engine/client.ts";
import { EngineError, toEngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import type { EngineStatus } from "../protocol/views.ts";
import { type ContainerView, fromInspect, fromListItem, statusText } from "./container-view.ts";

export type { EngineStatus };

export type MirrorChange =
  | { kind: "snapshot"; containers: ContainerView[] }
  // `before`/`container`: what the mirror held until now, for listeners that filter by it (who may see it)
  | { kind: "upsert"; container: ContainerView; before: ContainerView | undefined }
  | { kind: "remove"; id: string; container: ContainerView }
  | { kind: "status"; status: EngineStatus; error: string | null };

// Events that say nothing about what a list shows.
const IGNORED_ACTIONS = /^(exec_|attach|resize|top|export|commit|copy|archive-path|extract-to-dir)/;
const INSPECT_CONCURRENCY = 8;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** For engines without /events: how often the list is read again. */
export const POLL_MS = 2_000;
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * The engine's containers, kept in memory by one /events subscription. Lists are answered from
 * here; the engine is asked again only for the containers an event names. When the engine goes
 * away the mirror keeps its last view, reports "down", and reconnects with backoff.
 */
export class ContainerMirror {
  private containers = new Map<string, ContainerView>();
  private listeners = new Set<(change: MirrorChange) => void>();
  private pending = new Set<string>();
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private listing: Promise<void> = Promise.resolve();
  status: EngineStatus = "connecting";
  error: string | null = null;
  /** Goes up with every change to the list, so readers can tell whether what they made from it is stale. */
  version = 0;

  constructor(private readonly engine: EngineClient) {}

  onChange(listener: (change: MirrorChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  list(): ContainerView[] {
    const now = Date.now();
    return [...this.containers.values()].map((c) => ({ ...c, status: statusText(c, now) }));
  }

  /** A container by full id, unique id prefix or name, as the engine resolves them. */
  find(ref: string): ContainerView | undefined {
    const direct = this.containers.get(ref);
    if (direct) return direct;
    let match: ContainerView | undefined;
    for (const c of this.containers.values()) {
      if (c.name === ref.replace(/^\//, "")) return c;
      if (ref.length >= 1 && c.id.startsWith(ref)) {
        if (match) return undefined;
        match = c;
      }
    }
    return match;
  }

  /** Refreshes one container now (after an action), without waiting for its event. */
  async refresh(id: string): Promise<void> {
    if (this.engine.capabilities && !this.engine.capabilities.inspect) {
      // No inspect (Bolt): the list is the only view of a container. A failure here is left to the
      // next poll; the action itself succeeded.
      await this.resync("changes").catch(() => {});
      return;
    }
    this.pending.add(id);
    await this.flush();
  }

  private async run(): Promise<void> {
    const min = BACKOFF_MIN_MS;
    const max = BACKOFF_MAX_MS;
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
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, backoff);
      });
      this.wake = undefined;
      backoff = Math.min(backoff * 2, max);
    }
  }

  private async follow(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    let reason = "engine event stream closed";
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
    const events = await this.engine.stream(`/events?filters=${filters}`, abort.signal);
    // Subscribed before listing, so no change between the two is missed.
    const consumed = this.consume(events);
    // An engine behind a dead link never closes the event stream: it just goes quiet, as it does when
    // nothing happens. A ping tells the two apart.
    const heartbeat = setInterval(() => {
      this.engine.ping(AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS)).catch((err) => {
        reason = `engine stopped answering: ${toEngineError(err).message}`;
        abort.abort();
      });
    }, HEARTBEAT_MS);
    try {
      await this.resync();
      this.setStatus("up", null);
      const failure = await consumed;
      if (failure && !abort.signal.aborted) reason = failure;
    } finally {
      clearInterval(heartbeat);
      abort.abort();
    }
    this.error = reason;
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
        for (const line of lines) if (line.trim()) this.onEvent(line);
      }
    } catch (err) {
      return toEngineError(err).message;
    }
  }

  private onEvent(line: string): void {
    let ev: { Action?: string; status?: string; Actor?: { ID?: string }; id?: string };
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    const action = ev.Action ?? ev.status ?? "";
    const id = ev.Actor?.ID ?? ev.id;
    if (!id || IGNORED_ACTIONS.test(action)) return;
    if (action === "destroy") {
      this.pending.delete(id);
      this.forget(id);
      return;
    }
    this.pending.add(id);
    void this.flush();
  }

  /** Inspects every container named by events since the last flush; bursts collapse into one call each. */
  private flush(): Promise<void> {
    this.flushing ??= (async () => {
      await Promise.resolve();
      while (this.pending.size > 0) {
        const ids = [...this.pending];
        this.pending.clear();
        await mapLimit(ids, INSPECT_CONCURRENCY, (id) => this.inspectInto(id));
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async inspectInto(id: string): Promise<void> {
    try {
      const view = fromInspect(await this.inspect(id));
      const before = this.containers.get(view.id);
      this.containers.set(view.id, view);
      this.emit({ kind: "upsert", container: view, before });
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) this.forget(id);
    }
  }

  private forget(id: string): void {
    const gone = this.containers.get(id);
    if (!gone) return;
    this.containers.delete(id);
    this.emit({ kind: "remove", id, container: gone });
  }

  /**
   * Reads the whole list again; announces it as one snapshot, or (polling) as the changes only.
   * One at a time: a poll and a refresh after an action must not land out of order.
   */
  private resync(announce: "snapshot" | "changes" = "snapshot"): Promise<void> {
    const run = this.listing.then(() => this.readList(announce));
    this.listing = run.catch(() => {});
    return run;
  }

  private async readList(announce: "snapshot" | "changes"): Promise<void> {
    const fresh = new Map<string, ContainerView>();
    // Bolt's compat server matches no path with a query string (so no all=true): ask for its plain
    // list; dockerode sends no "?" for empty options.
    const query = this.engine.capabilities?.queryStrings === false ? "" : "?all=1";
    const list = await this.engine.get<Dockerode.ContainerInfo[]>(`/containers/json${query}`);
    if (this.engine.capabilities?.inspect) {
      await mapLimit(list, INSPECT_CONCURRENCY, async (c) => {
        try {
          const view = fromInspect(await this.inspect(c.Id));
          fresh.set(view.id, view);
        } catch (err) {
          if (!(err instanceof EngineError && err.status === 404)) throw err;
        }
      });
    } else {
      for (const c of list) fresh.set(c.Id, fromListItem(c));
    }
    const before = this.containers;
    this.containers = fresh;
    if (announce === "snapshot") {
      this.emit({ kind: "snapshot", containers: this.list() });
      return;
    }
    for (const [id, gone] of before) if (!fresh.has(id)) this.emit({ kind: "remove", id, container: gone });
    for (const [id, view] of fresh) {
      const old = before.get(id);
      // Not the status text: a polled engine words it anew each time ("Up 5 seconds").
      if (!old || old.state !== view.state || old.name !== view.name || old.image !== view.image) {
        this.emit({ kind: "upsert", container: view, before: old });
      }
    }
  }

  private async poll(): Promise<void> {
    await this.resync();
    this.setStatus("up", null);
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      await this.resync("changes");
    }
  }

  private inspect(id: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.engine.get(containerPath(id, "/json"));
  }

  private setStatus(status: EngineStatus, error: string | null): void {
    if (status === this.status && error === this.error) return;
    this.status = status;
    this.error = error;
    this.emit({ kind: "status", status, error });
  }

  private emit(change: MirrorChange): void {
    if (change.kind !== "status") this.version++;
    for (const l of this.listeners) l(change);
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
