import type { Database } from "bun:sqlite";
import type { SecretVault } from "../secrets/vault.ts";
import { DOCKER_HUB_API } from "./address.ts";
import { RegistryClient, type RegistryLogin } from "./client.ts";
import { engineAuthHeader, type RegistryCredentials } from "./credentials.ts";
import type { ImageReference } from "./reference.ts";

/** A registry as the panel keeps it; the password is in the vault, never here. */
export interface Registry {
  id: number;
  name: string;
  /** scheme://host[:port] */
  url: string;
  /** what image references name it by: "127.0.0.1:5000", "docker.io" */
  host: string;
  username: string;
  /** whether a password (or access token) is stored; the value itself never leaves the store */
  has_password: boolean;
  created_at: number;
}

interface Row {
  id: number;
  name: string;
  url: string;
  host: string;
  username: string;
  created_at: number;
}

/** The vault owner of a registry's password (src/store/database.ts names it so). */
const passwordOwner = (id: number) => `registry:${id}:password`;

/**
 * The registries an admin told the panel about, and their logins: the rows in `registries`, each
 * password sealed in the vault beside it. It is the RegistryCredentials of pulls, pushes and update
 * checks: an image's registry host picks the login, and nobody is asked again.
 */
export class RegistryStore implements RegistryCredentials {
  constructor(
    private readonly db: Database,
    private readonly vault: SecretVault,
  ) {}

  list(): Registry[] {
    const rows = this.db.query("SELECT * FROM registries ORDER BY name").all() as Row[];
    return rows.map((r) => this.shown(r));
  }

  get(id: number): Registry | undefined {
    const row = this.db.query("SELECT * FROM registries WHERE id = ?").get(id) as Row | null;
    return row ? this.shown(row) : undefined;
  }

  byHost(host: string): Registry | undefined {
    const row = this.db
      .query("SELECT * FROM registries WHERE host = ?")
      .get(host.toLowerCase()) as Row | null;
    return row ? this.shown(row) : undefined;
  }

  /** Whether a name or a host is taken, by another registry than `except`. */
  conflict(name: string, host: string, except?: number): "name" | "host" | undefined {
    const rows = this.db
      .query(
        "SELECT id, name, host FROM registries WHERE (name = ? COLLATE NOCASE OR host = ?) AND id IS NOT ?",
      )
      .all(name, host, except ?? null) as { name: string; host: string }[];
    if (rows.some((r) => r.name.toLowerCase() === name.toLowerCase())) return "name";
    return rows.length ? "host" : undefined;
  }

  /** Row and sealed password in one transaction: a registry never exists half-made. */
  add(fields: { name: string; url: string; host: string; username: string; password?: string }): Registry {
    const id = this.db.transaction(() => {
      const row = this.db
        .query(
          "INSERT INTO registries (name, url, host, username, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .get(fields.name, fields.url, fields.host, fields.username, Date.now()) as { id: number };
      if (fields.password) this.vault.put(passwordOwner(row.id), fields.password);
      return row.id;
    })();
    return this.get(id)!;
  }

  /**
   * Changes what is given; `password` undefined keeps the stored one, "" removes it. A registry
   * that moves to another host keeps its password only when a new one is not given: the admin
   * who moved it said where it goes.
   */
  update(
    id: number,
    fields: { name?: string; url?: string; host?: string; username?: string; password?: string },
  ): Registry | undefined {
    const before = this.get(id);
    if (!before) return undefined;
    this.db.transaction(() => {
      this.db
        .query("UPDATE registries SET name = ?, url = ?, host = ?, username = ? WHERE id = ?")
        .run(
          fields.name ?? before.name,
          fields.url ?? before.url,
          fields.host ?? before.host,
          fields.username ?? before.username,
          id,
        );
      if (fields.password === "") this.vault.delete(passwordOwner(id));
      else if (fields.password !== undefined) this.vault.put(passwordOwner(id), fields.password);
    })();
    return this.get(id);
  }

  remove(id: number): boolean {
    return this.db.transaction(() => {
      const gone = this.db.query("DELETE FROM registries WHERE id = ?").run(id).changes > 0;
      this.vault.delete(passwordOwner(id));
      return gone;
    })();
  }

  /** The login of a registry, for the panel's own calls to it; undefined without a username. */
  loginOf(registry: Registry): RegistryLogin | undefined {
    if (!registry.username) return undefined;
    return { username: registry.username, password: this.vault.get(passwordOwner(registry.id)) ?? "" };
  }

  /**
   * A client for the registry that serves `host`, with its login: only registries an admin added
   * (and Docker Hub, anonymously, at its one well-known address). Image references are chosen by
   * whoever makes a container; the panel does not call an address only because one names it.
   */
  clientFor(host: string): RegistryClient | undefined {
    const known = this.byHost(host);
    if (known) return new RegistryClient(known.url, this.loginOf(known));
    return host === "docker.io" ? new RegistryClient(DOCKER_HUB_API, undefined) : undefined;
  }

  engineAuthFor(ref: ImageReference): string | undefined {
    const registry = this.byHost(ref.registry);
    const login = registry && this.loginOf(registry);
    if (!login) return undefined;
    return engineAuthHeader({
      ...login,
      serveraddress: registry.host === "docker.io" ? "https://index.docker.io/v1/" : registry.host,
    });
  }

  private shown(row: Row): Registry {
    const sealed = this.db.query("SELECT 1 FROM secrets WHERE owner = ?").get(passwordOwner(row.id)) !== null;
    return { ...row, has_password: sealed };
  }
}
