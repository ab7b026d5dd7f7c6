import type { Database } from "bun:sqlite";
import { hashSecret, newSecret } from "../auth/secrets.ts";

export interface AgentRow {
  id: string;
  name: string;
  public_key: string;
  revoked_at: number | null;
}

/** Why a join or a hello is refused, in words the agent prints. */
export class AgentRefused extends Error {}

/** Join tokens (hashes only) and the agents' registered public keys. */
export class AgentStore {
  constructor(private readonly db: Database) {}

  /** A one-time secret for the environment `name`, valid for `ttlMs`. */
  makeJoinSecret(name: string, ttlMs: number): { secret: string; expiresAt: number } {
    const secret = newSecret("");
    const now = Date.now();
    this.db
      .query("INSERT INTO agent_join_tokens (token_hash, name, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run(hashSecret(secret), name, now, now + ttlMs);
    return { secret, expiresAt: now + ttlMs };
  }

  /** The name a live, unused secret is for; refused (in words) otherwise. Does not consume it. */
  joinName(secret: string): string {
    const row = this.db
      .query("SELECT name, expires_at, used_at FROM agent_join_tokens WHERE token_hash = ?")
      .get(hashSecret(secret)) as { name: string; expires_at: number; used_at: number | null } | null;
    if (!row) throw new AgentRefused("unknown join token");
    if (row.used_at !== null) throw new AgentRefused("this join token has been used already");
    if (row.expires_at <= Date.now()) throw new AgentRefused("this join token has expired");
    return row.name;
  }

  /**
   * Consumes the secret and registers the key, in one transaction (`also` runs inside it: the
   * environment's row), so that two agents racing with one token cannot both join.
   */
  register(secret: string, id: string, name: string, publicKey: string, also: () => void): void {
    this.db.transaction(() => {
      const used = this.db
        .query(
          "UPDATE agent_join_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        )
        .run(Date.now(), hashSecret(secret), Date.now());
      if (used.changes !== 1) throw new AgentRefused("this join token has been used already");
      const existing = this.get(id);
      if (existing && existing.revoked_at === null)
        throw new AgentRefused(`an agent named "${name}" is registered already`);
      this.db
        .query(
          "INSERT OR REPLACE INTO agents (id, name, public_key, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)",
        )
        .run(id, name, publicKey, Date.now());
      also();
    })();
  }

  get(id: string): AgentRow | undefined {
    return (
      (this.db
        .query("SELECT id, name, public_key, revoked_at FROM agents WHERE id = ?")
        .get(id) as AgentRow | null) ?? undefined
    );
  }

  seen(id: string): void {
    this.db.query("UPDATE agents SET last_seen_at = ? WHERE id = ?").run(Date.now(), id);
  }

  /** Its key is refused from now on; true if it was a live agent. */
  revoke(id: string): boolean {
    return (
      this.db
        .query("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .run(Date.now(), id).changes === 1
    );
  }
}
