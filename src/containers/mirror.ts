import type Dockerode from "dockerode";
import type { Engine } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import type { EngineEvent, ResourceMirror, SyncReason } from "../envs/connection.ts";
import {
  type ContainerView,
  fromInspect,
  fromListItem,
  healthOfStatus,
  isPanelHelper,
  statusText,
} from "./view.ts";

export type ContainerChange =
  | { kind: "snapshot"; containers: ContainerView[] }
  // `before`/`container`: what the mirror held until now, for listeners that filter by it (who may see it)
  | { kind: "upsert"; container: ContainerView; before: ContainerView | undefined }
  | { kind: "remove"; id: string; container: ContainerView };

// Events that say nothing about what a list shows.
const IGNORED_ACTIONS = /^(exec_|attach|resize|top|export|commit|copy|archive-path|extract-to-dir)/;
const INSPECT_CONCURRENCY = 8;
/** How long a destroyed container's id is remembered, so that an inspect already in flight cannot bring it back. */
const TOMBSTONE_MS = 10 * 60_000;

/**
 * The engine's containers, in memory. Lists are answered from here; the engine is asked again only
 * for the containers an event names, or whose line in the engine's own list differs from ours.
 */
export class ContainerMirror implements ResourceMirror {
  readonly eventType = "container";
  private containers = new Map<string, ContainerView>();
  private listeners = new Set<(change: ContainerChange) => void>();
  private pending = new Set<string>();
  /** destroyed ids, with when: an answer about one of them that arrives late is dropped */
  private destroyed = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  private listing: Promise<void> = Promise.resolve();
  private synced = false;
  /** Goes up with every change to the list, so readers can tell whether what they made from it is stale. */
  version = 0;

  constructor(private readonly engine: Engine) {}

  onChange(listener: (change: ContainerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): ContainerView[] {
    const now = Date.now();
    return [...this.containers.values()].map((c) => ({ ...c, status: statusText(c, now) }));
  }

  /**
   * The running containers with a process, as held (not copied, status text not worded anew): what
   * the stats collector reads every tick, without a copy of every container each second.
   */
  running(): readonly ContainerView[] {
    const out: ContainerView[] = [];
    for (const c of this.containers.values()) if (c.state === "running" && c.pid > 0) out.push(c);
    return out;
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
      await this.sync("poll").catch(() => {});
      return;
    }
    this.pending.add(id);
    await this.flush();
  }

  onEvent(event: EngineEvent): void {
    const action = event.Action ?? event.status ?? "";
    const id = event.Actor?.ID ?? event.id;
    if (!id || IGNORED_ACTIONS.test(action)) return;
    if (action === "destroy") {
      this.pending.delete(id);
      this.destroyed.set(id, Date.now());
      this.forget(id);
      return;
    }
    this.pending.add(id);
    void this.flush();
  }

  /**
   * Reads the engine's list. The first time, every container is inspected and announced as one
   * snapshot; after that only what differs from the mirror is inspected, and announced as changes.
   * One at a time: a poll and a refresh after an action must not land out of order.
   */
  sync(reason: SyncReason): Promise<void> {
    const run = this.listing.then(() => this.readList(reason));
    this.listing = run.catch(() => {});
    return run;
  }

  private async readList(reason: SyncReason): Promise<void> {
    // Bolt's compat server matches no path with a query string (so no all=true): ask for its plain list.
    const query = this.engine.capabilities?.queryStrings === false ? "" : "?all=1";
    const list = (await this.engine.get<Dockerode.ContainerInfo[]>(`/containers/json${query}`)).filter(
      (c) => !isPanelHelper(c.Labels),
    );
    const now = Date.now();
    for (const [id, at] of this.destroyed) if (now - at > TOMBSTONE_MS) this.destroyed.delete(id);
    if (!this.engine.capabilities?.inspect) {
      this.replace(new Map(list.map((c) => [c.Id, fromListItem(c)])), reason === "connect" && !this.synced);
      this.synced = true;
      return;
    }
    if (!this.synced) {
      const fresh = new Map<string, ContainerView>();
      await mapLimit(list, INSPECT_CONCURRENCY, async (c) => {
        const view = await this.inspectOrForget(c.Id);
        if (view) fresh.set(view.id, view);
      });
      this.replace(fresh, true);
      this.synced = true;
      return;
    }
    // Cheap: the list is one call; an inspect only for what is new or no longer what we hold.
    const listed = new Set(list.map((c) => c.Id));
    for (const [id] of this.containers) if (!listed.has(id)) this.forget(id);
    const stale = list.filter((c) => {
      const held = this.containers.get(c.Id);
      return (
        !held ||
        held.state !== c.State ||
        held.name !== (c.Names?.[0] ?? "").replace(/^\//, "") ||
        held.health !== healthOfStatus(c.Status)
      );
    });
    await mapLimit(stale, INSPECT_CONCURRENCY, (c) => this.inspectInto(c.Id));
  }

  /** Swaps in a whole new list: announced as a snapshot, or as the changes it makes. */
  private replace(fresh: Map<string, ContainerView>, snapshot: boolean): void {
    const before = this.containers;
    this.containers = fresh;
    if (snapshot) {
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
    const view = await this.inspectOrForget(id).catch(() => undefined);
    if (!view) return;
    const before = this.containers.get(view.id);
    this.containers.set(view.id, view);
    this.emit({ kind: "upsert", container: view, before });
  }

  /** The container as the engine has it now; undefined (and forgotten) once it is gone. */
  private async inspectOrForget(id: string): Promise<ContainerView | undefined> {
    try {
      const view = fromInspect(await this.engine.get(containerPath(id, "/json")));
      // Destroyed while the answer was on its way: the event was the later word.
      if (this.destroyed.has(view.id) || isPanelHelper(view.labels)) return undefined;
      return view;
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) {
        this.forget(id);
        return undefined;
      }
      throw err;
    }
  }

  private forget(id: string): void {
    const gone = this.containers.get(id);
    if (!gone) return;
    this.containers.delete(id);
    this.emit({ kind: "remove", id, container: gone });
  }

  private emit(change: ContainerChange): void {
    this.version++;
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
