import type { Database } from "bun:sqlite";

export interface ThrottleRules {
  /** failures before each further attempt has to wait */
  backoffAfter: number;
  /** failures before the key is locked out for `lockMs` */
  lockAfter: number;
  lockMs: number;
  /** failures older than this (since the last one) are forgotten */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleRules = {
  backoffAfter: 3,
  lockAfter: 10,
  lockMs: 15 * 60 * 1000,
  windowMs: 15 * 60 * 1000,
};

/**
 * Slows down and then locks out password guessing, per user name and per address, so that neither
 * many names from one address nor one name from many addresses gets far. Kept in SQLite so that a
 * restart does not reset it. While a key waits, attempts are refused before any password is
 * hashed: a flood costs no argon2 work.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Database,
    private readonly rules: ThrottleRules = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until the next attempt is allowed for any of these keys; 0 when allowed now. */
  waitFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const row = this.row(key, now);
      if (row) wait = Math.max(wait, row.locked_until - now);
    }
    return Math.max(0, wait);
  }

  failed(keys: string[], now = Date.now()): void {
    const r = this.rules;
    this.db.transaction(() => {
      for (const key of keys) {
        const failures = (this.row(key, now)?.failures ?? 0) + 1;
        const locked_until =
          failures >= r.lockAfter
            ? now + r.lockMs
            : failures >= r.backoffAfter
              ? now + 1000 * 2 ** (failures - r.backoffAfter)
              : 0;
        this.db
          .query(
            "INSERT OR REPLACE INTO login_failures (key, failures, last_at, locked_until) VALUES (?, ?, ?, ?)",
          )
          .run(key, failures, now, locked_until);
      }
    })();
  }

  succeeded(key: string): void {
    this.db.query("DELETE FROM login_failures WHERE key = ?").run(key);
  }

  private row(key: string, now: number): { failures: number; locked_until: number } | undefined {
    const row = this.db
      .query("SELECT failures, last_at, locked_until FROM login_failures WHERE key = ?")
      .get(key) as {
      failures: number;
      last_at: number;
      locked_until: number;
    } | null;
    if (!row || (now - row.last_at > this.rules.windowMs && row.locked_until <= now)) return undefined;
    return row;
  }
}

export const userKey = (username: string) => `user:${username.toLowerCase()}`;
export const addressKey = (address: string) => `addr:${address}`;
