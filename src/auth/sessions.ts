import type { Database } from "bun:sqlite";
import { hashSecret, newSecret } from "./secrets.ts";
import type { User } from "./users.ts";

export const SESSION_COOKIE = "gp_session";
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export class SessionStore {
  constructor(private readonly db: Database) {}

  /** Returns the cookie value; only its hash is stored. */
  create(userId: number): { token: string; expiresAt: number } {
    const token = newSecret("gps_");
    const now = Date.now();
    const expiresAt = now + SESSION_TTL_MS;
    this.db
      .query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run(hashSecret(token), userId, now, expiresAt);
    return { token, expiresAt };
  }

  userFor(token: string): User | undefined {
    const row = this.db
      .query(
        `SELECT u.id, u.username, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ? AND s.expires_at > ?`,
      )
      .get(hashSecret(token), Date.now()) as User | null;
    return row ?? undefined;
  }

  revoke(token: string): void {
    this.db.query("DELETE FROM sessions WHERE token_hash = ?").run(hashSecret(token));
  }

  pruneExpired(): void {
    this.db.query("DELETE FROM sessions WHERE expires_at <= ?").run(Date.now());
  }
}

export const SESSION_MAX_AGE_S = SESSION_TTL_MS / 1000;
