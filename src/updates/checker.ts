import { EngineError, toEngineError } from "../engine/errors.ts";
import type { Environment, Environments } from "../envs/environments.ts";
import type { ListChange } from "../envs/list-mirror.ts";
import type { UpdateItem } from "../protocol/views.ts";
import type { RegistryClient } from "../registries/client.ts";
import { type ImageReference, isImageId, parseReference, repositoryName } from "../registries/reference.ts";
import type { RegistryStore } from "../registries/store.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { readUpdateSettings } from "./settings.ts";

/** An update result as the panel keeps it: what is sent, and what decides who sees it. */
export interface UpdateState extends UpdateItem {
  labels: Record<string, string>;
  /** the image the container ran when checked: a recreate makes it stale */
  image_id: string;
}

interface Remote {
  at: number;
  digest?: string;
  error?: string;
  pending?: Promise<void>;
}

export interface CheckerOptions {
  /** an on-demand check asks a registry again only when its answer is older than this */
  onDemandFloorMs: number;
  /** HEADs in flight at once, panel-wide */
  concurrency: number;
  /** a burst of new containers is checked once, this long after the last */
  settleMs: number;
}

const DEFAULTS: CheckerOptions = { onDemandFloorMs: 5_000, concurrency: 4, settleMs: 500 };

/**
 * Image update detection: for every container, the digest the engine recorded when its image was
 * pulled or pushed (RepoDigests) against the digest the registry serves for the tag now (a HEAD of
 * the manifest, with the stored login). Registries are never hammered: one HEAD per
 * registry/repository:tag per interval, shared by every container and environment that uses it,
 * at most `concurrency` in flight; an on-demand check reuses an answer younger than a few seconds.
 * Results live in memory and announce their changes like a list (`updates:<env>`).
 */
export class UpdateChecker {
  private results = new Map<string, Map<string, UpdateState>>();
  private remote = new Map<string, Remote>();
  private listeners = new Set<(envId: string, change: ListChange<UpdateState>) => void>();
  private running = 0;
  private waiting: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settle = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly options: CheckerOptions;
  private stopped = false;

  constructor(
    private readonly envs: Environments,
    private readonly registries: RegistryStore,
    private readonly settings: SettingsStore,
    options: Partial<CheckerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Follows the containers (gone: their result goes; new or recreated: checked) and starts the schedule. */
  start(): void {
    this.envs.onContainers((envId, change) => {
      if (this.stopped) return;
      if (change.kind === "remove") {
        this.drop(envId, change.id);
        return;
      }
      const held = this.results.get(envId);
      const fresh =
        change.kind === "snapshot" ||
        !held?.has(change.container.id) ||
        held.get(change.container.id)?.image_id !== change.container.image_id;
      if (fresh && this.intervalMs() > 0) this.checkSoon(envId);
    });
    this.envs.onEnv((event) => {
      if (event.kind === "removed") this.results.delete(event.id);
    });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.settle.values()) clearTimeout(t);
  }

  /** The schedule changed (an admin's setting): the next run is counted from now. */
  schedule(): void {
    clearTimeout(this.timer);
    const every = this.intervalMs();
    if (every <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      void this.checkEverywhere().finally(() => this.schedule());
    }, every);
    this.timer.unref?.();
  }

  onChange(listener: (envId: string, change: ListChange<UpdateState>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(envId: string): UpdateState[] {
    return [...(this.results.get(envId)?.values() ?? [])];
  }

  get(envId: string, containerId: string): UpdateState | undefined {
    return this.results.get(envId)?.get(containerId);
  }

  /**
   * Checks the containers of an environment (all, or those in `only`) and returns their results.
   * `onDemand`: a caller asked, so an answer older than the on-demand floor is asked again;
   * otherwise an answer from within the interval serves.
   */
  async check(
    env: Environment,
    { onDemand, only }: { onDemand: boolean; only?: Set<string> },
  ): Promise<UpdateState[]> {
    const maxAge = onDemand ? this.options.onDemandFloorMs : this.intervalMs();
    const clients = new Map<string, RegistryClient | undefined>();
    const localDigests = new Map<string, Promise<string[]>>();
    const containers = env.containers.list().filter((c) => !only || only.has(c.id));
    const states = await Promise.all(
      containers.map(async (c): Promise<UpdateState> => {
        const base = {
          id: c.id,
          name: c.name,
          image: c.image,
          labels: c.labels,
          image_id: c.image_id,
          local_digest: null,
          remote_digest: null,
          checked_at: null,
        };
        const unknown = (error: string): UpdateState => ({ ...base, status: "unknown", error });
        let ref: ImageReference;
        try {
          if (isImageId(c.image)) throw new Error();
          ref = parseReference(c.image);
        } catch {
          return unknown("made from an image id, not a reference: there is no tag to follow");
        }
        if (ref.digest) return unknown("pinned to a digest: nothing newer can come under it");
        // The local digest comes from the image's inspect, which Bolt's compat server does not have.
        if (env.engine.capabilities?.inspect === false)
          return unknown(`engine "${env.name}" cannot inspect images`);
        if (!clients.has(ref.registry)) clients.set(ref.registry, this.registries.clientFor(ref.registry));
        const client = clients.get(ref.registry);
        if (!client)
          return unknown(`${ref.registry} is not among the panel's registries: add it to check its images`);
        let repoDigests: string[];
        try {
          if (!localDigests.has(c.image_id)) localDigests.set(c.image_id, this.repoDigests(env, c.image_id));
          repoDigests = await localDigests.get(c.image_id)!;
        } catch (err) {
          return { ...base, status: "error", error: `the engine: ${toEngineError(err).message}` };
        }
        const name = repositoryName(ref);
        const local = repoDigests.find((d) => d.startsWith(`${name}@`))?.slice(name.length + 1) ?? null;
        if (!local)
          return unknown(
            `the image has no digest from ${ref.registry} (built or tagged here, never pulled or pushed)`,
          );
        const key = `${ref.registry}/${ref.repository}:${ref.tag}`;
        const remote = await this.remoteDigest(key, client, ref, maxAge);
        const checked = { ...base, local_digest: local, checked_at: remote.at };
        if (remote.error) return { ...checked, status: "error", error: remote.error };
        return {
          ...checked,
          remote_digest: remote.digest ?? null,
          status: remote.digest === local ? "current" : "available",
          error: null,
        };
      }),
    );
    if (!only) {
      const seen = new Set(states.map((s) => s.id));
      for (const id of this.results.get(env.id)?.keys() ?? []) if (!seen.has(id)) this.drop(env.id, id);
    }
    // A container removed while it was being checked is not brought back.
    for (const s of states) if (env.containers.find(s.id)) this.put(env.id, s);
    return states;
  }

  private async checkEverywhere(): Promise<void> {
    for (const view of this.envs.list()) {
      const env = this.envs.get(view.id);
      if (env && view.status === "up") await this.check(env, { onDemand: false }).catch(() => {});
    }
  }

  private checkSoon(envId: string): void {
    clearTimeout(this.settle.get(envId));
    const t = setTimeout(() => {
      this.settle.delete(envId);
      const env = this.envs.get(envId);
      if (env && !this.stopped) void this.check(env, { onDemand: false }).catch(() => {});
    }, this.options.settleMs);
    t.unref?.();
    this.settle.set(envId, t);
  }

  private async repoDigests(env: Environment, imageId: string): Promise<string[]> {
    try {
      const image = await env.engine.get<{ RepoDigests?: string[] | null }>(
        `/images/${encodeURIComponent(imageId)}/json`,
      );
      return image.RepoDigests ?? [];
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) return [];
      throw err;
    }
  }

  /** The registry's digest for one tag: asked at most once per `maxAge`, one request shared by all who wait. */
  private async remoteDigest(
    key: string,
    client: RegistryClient,
    ref: ImageReference,
    maxAge: number,
  ): Promise<Remote> {
    for (;;) {
      const held = this.remote.get(key);
      if (held?.pending) {
        await held.pending;
        continue;
      }
      if (held && Date.now() - held.at < maxAge) return held;
      break;
    }
    const entry: Remote = { at: Date.now() };
    entry.pending = (async () => {
      await this.slot();
      try {
        entry.digest = await client.manifestDigest(ref.repository, ref.tag ?? "latest");
      } catch (err) {
        entry.error = (err as Error).message;
      } finally {
        this.release();
        entry.at = Date.now();
        entry.pending = undefined;
      }
    })();
    this.remote.set(key, entry);
    await entry.pending;
    return entry;
  }

  private slot(): Promise<void> {
    if (this.running < this.options.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private intervalMs(): number {
    return readUpdateSettings(this.settings).interval_seconds * 1000;
  }

  private put(envId: string, state: UpdateState): void {
    const held = this.results.get(envId) ?? new Map<string, UpdateState>();
    this.results.set(envId, held);
    const before = held.get(state.id);
    if (before && JSON.stringify(before) === JSON.stringify(state)) return;
    held.set(state.id, state);
    this.emit(envId, { kind: "upsert", item: state, before });
  }

  private drop(envId: string, id: string): void {
    const held = this.results.get(envId);
    const gone = held?.get(id);
    if (!gone) return;
    held!.delete(id);
    this.emit(envId, { kind: "remove", id, item: gone });
  }

  private emit(envId: string, change: ListChange<UpdateState>): void {
    for (const l of this.listeners) l(envId, change);
  }
}
