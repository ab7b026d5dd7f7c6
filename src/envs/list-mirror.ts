import type { Capabilities } from "../engine/capabilities.ts";
import type { Engine } from "../engine/engine.ts";
import { toEngineError } from "../engine/errors.ts";
import type { EngineEvent, ResourceMirror, SyncReason } from "./connection.ts";

/**
 * A kind of engine object kept as a whole list (images, networks, volumes): how to read the list,
 * and which /events type says it changed. Containers have their own mirror, which inspects one
 * container per event; these lists are cheap enough to read again after a burst of events.
 */
export interface ListKind<V extends { id: string }> {
  /** the key of the mirror on an environment, and the family of its topic: "images" */
  readonly name: string;
  /** the `Type` of the /events that change it: "image" */
  readonly eventType: string;
  /** what an engine must be able to do to be asked (Bolt's compat server has no volumes): else an empty list */
  readonly capability?: keyof Capabilities;
  read(engine: Engine): Promise<V[]>;
  /**
   * An object the engine listed before it finished making it, whose later state no event will
   * announce (a swarm network before the manager allocates it: no driver, no subnets yet).
   */
  unsettled?(view: V): boolean;
}

export type ListChange<V> =
  | { kind: "snapshot"; items: V[] }
  // `before`/`item`: what the mirror held until now, for listeners that filter by it (who may see it)
  | { kind: "upsert"; item: V; before: V | undefined }
  | { kind: "remove"; id: string; item: V };

/** Events that arrive in bursts (a pull tags, a compose up creates several): one read after the burst. */
const SETTLE_MS = 25;
/** How long to wait for an unsettled object, again and again up to the last, then until the next event. */
const RECHECK_MS = [100, 250, 500, 1000, 2000, 4000, 8000];

/**
 * One kind of engine object, in memory. Every event of its type asks for one more read of the
 * engine's list (a burst of events costs one read); each read is compared with what is held, and
 * only what differs is announced. Reads never overlap, so answers cannot land out of order.
 */
export class ListMirror<V extends { id: string }> implements ResourceMirror {
  readonly eventType: string;
  private items = new Map<string, { view: V; json: string }>();
  private listeners = new Set<(change: ListChange<V>) => void>();
  private reading: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private synced = false;
  private recheck: { timer: ReturnType<typeof setTimeout>; step: number } | undefined;
  /** Why the last read failed (an engine without this kind of object, say); null once one succeeds. */
  error: string | null = null;
  /** Goes up with every change to the list, so readers can tell whether what they made from it is stale. */
  version = 0;

  constructor(
    private readonly kind: ListKind<V>,
    private readonly engine: Engine,
  ) {
    this.eventType = kind.eventType;
  }

  onChange(listener: (change: ListChange<V>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): V[] {
    return [...this.items.values()].map((i) => i.view);
  }

  get(id: string): V | undefined {
    return this.items.get(id)?.view;
  }

  /** Whether the list has been read at least once since the panel started. */
  get ready(): boolean {
    return this.synced;
  }

  onEvent(_event: EngineEvent): void {
    if (this.recheck) clearTimeout(this.recheck.timer);
    this.recheck = undefined;
    void this.refresh(SETTLE_MS).catch(() => {});
  }

  /**
   * A failed read of this list never takes the engine down with it (the containers are what the
   * connection lives for): it is kept in `error` for the routes to say, and read again next time.
   */
  sync(_reason: SyncReason): Promise<void> {
    return this.refresh(0).catch((err) => {
      this.error = toEngineError(err).message;
    });
  }

  /**
   * Reads the list again now (after an action of the panel's own, without waiting for its event).
   * Callers arriving while a read is queued share it; one arriving during a read queues the next.
   */
  refresh(settleMs = 0): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.reading.then(async () => {
      if (settleMs > 0) await Bun.sleep(settleMs);
      this.queued = undefined;
      const { capability } = this.kind;
      // Not asked at all: an engine without them would answer 404 every poll.
      const unsupported = capability !== undefined && this.engine.capabilities?.[capability] === false;
      this.replace(unsupported ? [] : await this.kind.read(this.engine));
      this.error = null;
      this.recheckUnsettled();
    });
    this.queued = next;
    this.reading = next.catch(() => {});
    return next.finally(() => {
      if (this.queued === next) this.queued = undefined;
    });
  }

  /** Reads again, later and later, while the engine still holds a half-made object; an event starts over. */
  private recheckUnsettled(): void {
    const { unsettled } = this.kind;
    const step = this.recheck ? this.recheck.step + 1 : 0;
    if (this.recheck) clearTimeout(this.recheck.timer);
    this.recheck = undefined;
    if (!unsettled || !this.list().some(unsettled) || step >= RECHECK_MS.length) return;
    const timer = setTimeout(() => void this.refresh(0).catch(() => {}), RECHECK_MS[step]);
    timer.unref?.();
    this.recheck = { timer, step };
  }

  private replace(fresh: V[]): void {
    const before = this.items;
    this.items = new Map(fresh.map((view) => [view.id, { view, json: JSON.stringify(view) }]));
    if (!this.synced) {
      this.synced = true;
      this.emit({ kind: "snapshot", items: this.list() });
      return;
    }
    for (const [id, gone] of before)
      if (!this.items.has(id)) this.emit({ kind: "remove", id, item: gone.view });
    for (const [id, now] of this.items) {
      const old = before.get(id);
      if (old?.json !== now.json) this.emit({ kind: "upsert", item: now.view, before: old?.view });
    }
  }

  private emit(change: ListChange<V>): void {
    this.version++;
    for (const l of this.listeners) l(change);
  }
}
