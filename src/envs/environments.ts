import type { Database } from "bun:sqlite";
import { EngineClient } from "../engine/client.ts";
import { parseEngineUrl, type TlsMaterial } from "../engine/url.ts";
import type { EnvironmentView } from "../protocol/views.ts";
import type { SecretVault } from "../secrets/vault.ts";
import { ContainerMirror, type MirrorChange } from "../state/mirror.ts";

/** One engine the panel manages. */
export interface Environment {
  id: string;
  name: string;
  url: string;
  /** Connects with a TLS client certificate; the material itself is never shown. */
  tls: boolean;
  engine: EngineClient;
  mirror: ContainerMirror;
}

export type { EnvironmentView };

type Listener = (envId: string, change: MirrorChange) => void;

export class Environments {
  private envs = new Map<string, Environment>();
  private listeners = new Set<Listener>();

  constructor(
    private readonly db: Database,
    private readonly vault: SecretVault,
  ) {}

  /** The engine given on the command line, plus every engine added through the API. */
  start(localUrl: string, localTls?: TlsMaterial): void {
    this.open("local", "local", localUrl, localTls);
    const rows = this.db.query("SELECT id, name, url FROM environments ORDER BY created_at").all() as {
      id: string;
      name: string;
      url: string;
    }[];
    for (const r of rows) {
      const sealed = this.vault.get(tlsOwner(r.id));
      this.open(r.id, r.name, r.url, sealed === undefined ? undefined : (JSON.parse(sealed) as TlsMaterial));
    }
  }

  /**
   * Adds an engine by URL, with its TLS client material if it has some; the caller has validated
   * both (parseEngineUrl, checkTlsMaterial). The material is kept sealed in the vault, beside the
   * environment's row and in the same transaction, never in the row itself.
   */
  add(name: string, url: string, tls?: TlsMaterial): Environment {
    const id = name.toLowerCase();
    this.db.transaction(() => {
      this.db
        .query("INSERT INTO environments (id, name, url, created_at) VALUES (?, ?, ?, ?)")
        .run(id, name, url, Date.now());
      if (tls) this.vault.put(tlsOwner(id), JSON.stringify(tls));
    })();
    return this.open(id, name, url, tls);
  }

  remove(id: string): boolean {
    const env = this.envs.get(id);
    if (!env || id === "local") return false;
    env.mirror.stop();
    this.envs.delete(id);
    this.db.transaction(() => {
      this.db.query("DELETE FROM environments WHERE id = ?").run(id);
      this.vault.delete(tlsOwner(id));
    })();
    this.announce(id, { kind: "status", status: "down", error: "removed" });
    return true;
  }

  get(id: string): Environment | undefined {
    return this.envs.get(id);
  }

  hasName(name: string): boolean {
    const key = name.toLowerCase();
    return [...this.envs.values()].some((e) => e.id === key || e.name.toLowerCase() === key);
  }

  list(): EnvironmentView[] {
    return [...this.envs.values()].map(viewOf);
  }

  /** Every change of every mirror, including mirrors of engines added later. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    for (const env of this.envs.values()) env.mirror.stop();
  }

  private open(id: string, name: string, url: string, tls?: TlsMaterial): Environment {
    const engine = new EngineClient(parseEngineUrl(url, tls));
    const mirror = new ContainerMirror(engine);
    const env: Environment = { id, name, url, tls: tls !== undefined, engine, mirror };
    this.envs.set(id, env);
    mirror.onChange((change) => this.announce(id, change));
    mirror.start();
    return env;
  }

  private announce(id: string, change: MirrorChange): void {
    for (const l of this.listeners) l(id, change);
  }
}

/** The vault owner of an environment's TLS client material. */
function tlsOwner(id: string): string {
  return `env:${id}:tls`;
}

export function viewOf(env: Environment): EnvironmentView {
  return {
    id: env.id,
    name: env.name,
    // Known once the engine has answered /version.
    kind: env.engine.facts?.kind ?? "unknown",
    status: env.mirror.status,
    url: env.url,
    tls: env.tls,
    error: env.mirror.error,
    facts: env.engine.facts ?? null,
    capabilities: env.engine.capabilities ?? null,
  };
}
