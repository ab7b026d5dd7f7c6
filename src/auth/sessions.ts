import type { Database } from "bun:sqlite";
import { writeHealth } from "../store/write-health.ts";
import { ChangeListeners } from "./changes.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { User } from "./users.ts";

export const SESSION_COOKIE = "gp_session";
/** Readable by the UI's script (not HttpOnly): it sends the value back as X-CSRF-Token. */
export const CSRF_COOKIE = "gp_csrf";
export const CSRF_HEADER = "x-csrf-token";

export interface SessionLimits {
  /** a session unused this long ends */
  idleMs: number;
  /** a session ends this long after login, used or not */
  absoluteMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleMs: 60 * 60 * 1000,
  absoluteMs: 12 * 60 * 60 * 1000,
};

// last_seen_at moves at most once a minute per session: reads do not each become a write.
const SEEN_RESOLUTION_MS = 60_000;

export interface SessionUser {
  user: User;
  csrfHash: string;
}

export class SessionStore {
  private changes = new ChangeListeners();

  constructor(
    private readonly db: Database,
    readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  /** Returns the cookie value and the CSRF token; only their hashes are stored. */
  create(userId: number, address: string): { token: string; csrf: string; expiresAt: number } {
    const token = newSecret("gps_");
    const csrf = newSecret("");
    const now = Date.now();
    const expiresAt = now + this.limits.absoluteMs;
    this.db
      .query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, csrf_hash, address) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(hashSecret(token), userId, now, expiresAt, now, hashSecret(csrf), address);
    return { token, csrf, expiresAt };
  }

  find(token: string): SessionUser | undefined {
    const now = Date.now();
    const hash = hashSecret(token);
    const row = this.db
      .query(
        `SELECT u.id, u.username, u.role, u.created_at, s.last_seen_at, s.csrf_hash
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ? AND s.expires_at > ? AND s.last_seen_at > ?`,
      )
      .get(hash, now, now - this.limits.idleMs) as
      | (User & { last_seen_at: number; csrf_hash: string })
      | null;
    if (!row) return undefined;
    if (now - row.last_seen_at > SEEN_RESOLUTION_MS) {
      // Bookkeeping: on a full disk the session still works, it is only seen less recently.
      writeHealth(this.db).tolerate("session last seen", () => {
        this.db.query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").run(now, hash);
      });
    }
    return {
      user: { id: row.id, username: row.username, role: row.role, created_at: row.created_at },
      csrfHash: row.csrf_hash,
    };
  }

  /** Called after sessions were ended (logout, a new password, a new role), for open streams. */
  onChange(listener: () => void): void {
    this.changes.add(listener);
  }

  revoke(token: string): void {
    if (this.db.query("DELETE FROM sessions WHERE token_hash = ?").run(hashSecret(token)).changes > 0)
      this.changes.notify();
  }

  /** Ends every session of a user but, optionally, the one making the change. */
  revokeAll(userId: number, except?: string): number {
    const ended = this.db
      .query("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?")
      .run(userId, except ? hashSecret(except) : "").changes;
    if (ended > 0) this.changes.notify();
    return ended;
  }

  pruneExpired(): void {
    const now = Date.now();
    // At start: a full disk must not keep the panel from starting (find() refuses them anyway).
    writeHealth(this.db).tolerate("session pruning", () => {
      this.db
        .query("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?")
        .run(now, now - this.limits.idleMs);
    });
  }
}
