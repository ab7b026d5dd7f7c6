import type { Database } from "bun:sqlite";
import { agentIdOf } from "../agent/agent-engine.ts";
import { type ContainerChange, ContainerMirror } from "../containers/mirror.ts";
import { DockerHttpEngine } from "../engine/docker-http.ts";
import type { Engine } from "../engine/engine.ts";
import { parseEngineUrl, type TlsMaterial } from "../engine/url.ts";
import type { EnvironmentView } from "../protocol/views.ts";
import type { SecretVault } from "../secrets/vault.ts";
import { type ConnectionTiming, DEFAULT_TIMING, EngineConnection, type EngineStatus } from "./connection.ts";
import { type ListChange, type ListKind, ListMirror } from "./list-mirror.ts";

/** One engine the panel manages: its connection and the mirrors that connection feeds. */
export interface Environment {
  id: string;
  name: string;
  url: string;
  /** Connects with a TLS client certificate; the material itself is never shown. */
  tls: boolean;
  /** labels people give it, to find and group engines (see ENV_TAG) */
  tags: string[];
  /** when its engine last answered (Unix ms); null: never, as far as this panel knows */
  lastSeen: number | null;
  engine: Engine;
  connection: EngineConnection;
  containers: ContainerMirror;
  /** the other kinds of engine object, by kind name ("images", …): read them through `listOf` */
  lists: ReadonlyMap<string, ListMirror<{ id: string }>>;
}

/** Environments coming, going, and their engines' status. */
export type EnvEvent =
  | { kind: "added"; id: string }
  | { kind: "removed"; id: string }
  /** renamed or tagged: the same engine, still connected */
  | { kind: "changed"; id: string }
  | { kind: "status"; id: string; status: EngineStatus; error: string | null };

export type { EnvironmentView };

export class Environments {
  private envs = new Map<string, Environment>();
  /** whether each engine was up at its last status change (a down that follows an up is when it was last seen) */
  private wasUp = new Map<string, boolean>();
  private closed = false;
  private envListeners = new Set<(event: EnvEvent) => void>();
  private containerListeners = new Set<(envId: string, change: ContainerChange) => void>();
  private listListeners = new Map<string, Set<(envId: string, change: ListChange<{ id: string }>) => void>>();

  constructor(
    private readonly db: Database,
    private readonly vault: SecretVault,
    /** How an engine URL becomes an Engine: Docker over HTTP, or (tests) a fake one. */
    private readonly engineFor: (url: string, tls?: TlsMaterial) => Engine = (url, tls) =>
      new DockerHttpEngine(parseEngineUrl(url, tls)),
    private readonly timing: ConnectionTiming = DEFAULT_TIMING,
    /** the kinds of engine object mirrored beside containers (src/server/modules.ts LIST_KINDS) */
    private readonly kinds: readonly ListKind<{ id: string }>[] = [],
  ) {}

  /** The engine given on the command line, plus every engine added through the API. */
  start(localUrl: string, localTls?: TlsMaterial): void {
    const rows = this.db
      .query("SELECT id, name, url, tags, last_seen_at FROM environments ORDER BY created_at")
      .all() as { id: string; name: string; url: string; tags: string; last_seen_at: number | null }[];
    const saved = (r: (typeof rows)[number]) => ({
      tags: JSON.parse(r.tags) as string[],
      lastSeen: r.last_seen_at,
    });
    // The local engine's row, if any, holds only what people called it: its URL is the command line's.
    const local = rows.find((r) => r.id === LOCAL_ENV);
    this.open(LOCAL_ENV, local?.name ?? LOCAL_ENV, localUrl, localTls, local && saved(local));
    for (const r of rows) {
      if (r.id === LOCAL_ENV) continue;
      this.open(r.id, r.name, r.url, this.sealedTls(r.id), saved(r));
    }
  }

  /**
   * Adds an engine by URL, with its TLS client material if it has some; the caller has validated
   * both (parseEngineUrl, checkTlsMaterial). The material is kept sealed in the vault, beside the
   * environment's row and in the same transaction, never in the row itself.
   */
  add(name: string, url: string, tls?: TlsMaterial, tags: string[] = []): Environment {
    const id = name.toLowerCase();
    this.db.transaction(() => {
      this.db
        .query("INSERT INTO environments (id, name, url, created_at, tags) VALUES (?, ?, ?, ?, ?)")
        .run(id, name, url, Date.now(), JSON.stringify(tags));
      if (tls) this.vault.put(tlsOwner(id), JSON.stringify(tls));
    })();
    return this.open(id, name, url, tls, { tags, lastSeen: null });
  }

  /**
   * Renames or tags an engine; its id (in every address, topic and grant) stays. The local engine's
   * row is made on its first change.
   */
  update(id: string, change: { name?: string; tags?: string[] }): Environment | undefined {
    const env = this.envs.get(id);
    if (!env) return undefined;
    const name = change.name ?? env.name;
    const tags = change.tags ?? env.tags;
    this.db
      .query(
        `INSERT INTO environments (id, name, url, created_at, tags) VALUES (?, ?, '', ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, tags = excluded.tags`,
      )
      .run(id, name, Date.now(), JSON.stringify(tags));
    env.name = name;
    env.tags = tags;
    this.announce({ kind: "changed", id });
    return env;
  }

  /**
   * Points an environment at another address or TLS material (`tls`: new material; null: none;
   * undefined: the material it has). The engine behind it may be another one: everything that follows
   * it sees it go and come back, as for a remove and an add of the same id, so no mirror, collector
   * or subscriber keeps what the old address said.
   */
  reconnect(id: string, url: string, tls: TlsMaterial | null | undefined): Environment | undefined {
    const env = this.envs.get(id);
    if (!env || id === LOCAL_ENV) return undefined;
    const material = tls === undefined ? this.sealedTls(id) : (tls ?? undefined);
    this.db.transaction(() => {
      this.db.query("UPDATE environments SET url = ? WHERE id = ?").run(url, id);
      if (material) this.vault.put(tlsOwner(id), JSON.stringify(material));
      else this.vault.delete(tlsOwner(id));
    })();
    env.connection.stop();
    this.envs.delete(id);
    this.wasUp.delete(id);
    this.announce({ kind: "removed", id });
    return this.open(id, env.name, url, material, { tags: env.tags, lastSeen: env.lastSeen });
  }

  /** The TLS material an environment connects with, if it has some (for checking a change against). */
  tlsOf(id: string): TlsMaterial | undefined {
    return this.sealedTls(id);
  }

  remove(id: string): boolean {
    const env = this.envs.get(id);
    if (!env || id === LOCAL_ENV) return false;
    env.connection.stop();
    this.envs.delete(id);
    this.wasUp.delete(id);
    this.db.transaction(() => {
      this.db.query("DELETE FROM environments WHERE id = ?").run(id);
      this.vault.delete(tlsOwner(id));
    })();
    this.announce({ kind: "removed", id });
    return true;
  }

  get(id: string): Environment | undefined {
    return this.envs.get(id);
  }

  /** Whether another environment (than `except`) has this name or id, in any case. */
  hasName(name: string, except?: string): boolean {
    const key = name.toLowerCase();
    return [...this.envs.values()].some(
      (e) => e.id !== except && (e.id === key || e.name.toLowerCase() === key),
    );
  }

  list(): EnvironmentView[] {
    return [...this.envs.values()].map(viewOf);
  }

  /** Environments added and removed, and every status change, of engines added later too. */
  onEnv(listener: (event: EnvEvent) => void): () => void {
    this.envListeners.add(listener);
    return () => this.envListeners.delete(listener);
  }

  /** Every change of every environment's containers, including engines added later. */
  onContainers(listener: (envId: string, change: ContainerChange) => void): () => void {
    this.containerListeners.add(listener);
    return () => this.containerListeners.delete(listener);
  }

  /** Every change of one kind of object (`kind.name`), on every environment, including engines added later. */
  onList<V extends { id: string }>(
    kind: ListKind<V>,
    listener: (envId: string, change: ListChange<V>) => void,
  ): () => void {
    const set = this.listListeners.get(kind.name) ?? new Set();
    this.listListeners.set(kind.name, set);
    const l = listener as (envId: string, change: ListChange<{ id: string }>) => void;
    set.add(l);
    return () => set.delete(l);
  }

  stop(): void {
    this.closed = true;
    for (const env of this.envs.values()) env.connection.stop();
  }

  private sealedTls(id: string): TlsMaterial | undefined {
    const sealed = this.vault.get(tlsOwner(id));
    return sealed === undefined ? undefined : (JSON.parse(sealed) as TlsMaterial);
  }

  /** Keeps when the engine last answered: now while it is up, the moment it stopped once it is down. */
  private seen(env: Environment, status: EngineStatus): void {
    const up = status === "up";
    if (!up && this.wasUp.get(env.id) !== true) return;
    this.wasUp.set(env.id, up);
    env.lastSeen = Date.now();
    this.db.query("UPDATE environments SET last_seen_at = ? WHERE id = ?").run(env.lastSeen, env.id);
  }

  private open(
    id: string,
    name: string,
    url: string,
    tls?: TlsMaterial,
    saved: { tags: string[]; lastSeen: number | null } = { tags: [], lastSeen: null },
  ): Environment {
    const engine = this.engineFor(url, tls);
    const connection = new EngineConnection(engine, this.timing);
    const containers = new ContainerMirror(engine);
    connection.attach(containers);
    const lists = new Map<string, ListMirror<{ id: string }>>();
    for (const kind of this.kinds) {
      const mirror = new ListMirror(kind, engine);
      connection.attach(mirror);
      lists.set(kind.name, mirror);
      mirror.onChange((change) => {
        for (const l of this.listListeners.get(kind.name) ?? []) l(id, change);
      });
    }
    const env: Environment = {
      id,
      name,
      url,
      tls: tls !== undefined,
      tags: saved.tags,
      lastSeen: saved.lastSeen,
      engine,
      connection,
      containers,
      lists,
    };
    this.envs.set(id, env);
    containers.onChange((change) => {
      for (const l of this.containerListeners) l(id, change);
    });
    connection.onStatus((status, error) => {
      // A connection being let go (removed, re-pointed, the panel stopping) speaks for nobody.
      if (this.closed || this.envs.get(id) !== env) return;
      this.seen(env, status);
      this.announce({ kind: "status", id, status, error });
    });
    this.announce({ kind: "added", id });
    connection.start();
    return env;
  }

  private announce(event: EnvEvent): void {
    for (const l of this.envListeners) l(event);
  }
}

/** An environment's mirror of one kind of object; the kind is one the registry was given. */
export function listOf<V extends { id: string }>(env: Environment, kind: ListKind<V>): ListMirror<V> {
  const mirror = env.lists.get(kind.name);
  if (!mirror) throw new Error(`no mirror of ${kind.name}: add the kind to LIST_KINDS`);
  return mirror as unknown as ListMirror<V>;
}

/** The engine given on the command line: always there, renamed and tagged but never removed or re-pointed. */
export const LOCAL_ENV = "local";

/** An environment's tag: a short label, as people type them (`prod`, `eu-west`, `team:a`). */
export const ENV_TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$/;

/** The vault owner of an environment's TLS client material. */
function tlsOwner(id: string): string {
  return `env:${id}:tls`;
}

export function viewOf(env: Environment): EnvironmentView {
  return {
    id: env.id,
    name: env.name,
    // Known once the engine has answered /version; an edge agent's is "agent" (its facts say which engine).
    kind: agentIdOf(env.url) !== undefined ? "agent" : (env.engine.facts?.kind ?? "unknown"),
    status: env.connection.status,
    url: env.url,
    tls: env.tls,
    tags: env.tags,
    // While it is up, it is seen now.
    last_seen: env.connection.status === "up" ? Date.now() : env.lastSeen,
    error: env.connection.error,
    facts: env.engine.facts ?? null,
    capabilities: env.engine.capabilities ?? null,
  };
}
