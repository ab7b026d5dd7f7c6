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
 *
 * An attempt is counted as failed when it starts (`attempt`), not when its password check ends: the
 * check awaits argon2, and guesses sent side by side would otherwise all pass the wait before the
 * first of them was counted. A success gives its reservation back (`succeeded`).
 */
export class LoginThrottle {
  constructor(
    private readonly db: Database,
    private readonly rules: ThrottleRules = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until the next attempt is allowed for any of these keys; 0 when allowed now. */
  private waitFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const row = this.row(key, now);
      if (row) wait = Math.max(wait, row.locked_until - now);
    }
    return Math.max(0, wait);
  }

  /**
   * Synchronous, one transaction: either the milliseconds to wait (nothing counted), or 0 and the
   * attempt is counted as a failure of every key until `succeeded` says otherwise.
   */
  attempt(keys: string[], now = Date.now()): number {
    return this.db.transaction(() => {
      const wait = this.waitFor(keys, now);
      if (wait > 0) return wait;
      for (const key of keys) this.put(key, (this.row(key, now)?.failures ?? 0) + 1, now);
      return 0;
    })();
  }

  /** The user's failures are forgotten; the other keys (the address) get this attempt back. */
  succeeded(keys: string[], now = Date.now()): void {
    const [user, ...others] = keys;
    this.db.transaction(() => {
      if (user !== undefined) this.db.query("DELETE FROM login_failures WHERE key = ?").run(user);
      for (const key of others) {
        const row = this.row(key, now);
        if (!row) continue;
        if (row.failures <= 1) this.db.query("DELETE FROM login_failures WHERE key = ?").run(key);
        else this.put(key, row.failures - 1, row.last_at);
      }
    })();
  }

  private put(key: string, failures: number, at: number): void {
    const r = this.rules;
    const locked_until =
      failures >= r.lockAfter
        ? at + r.lockMs
        : failures >= r.backoffAfter
          ? at + 1000 * 2 ** (failures - r.backoffAfter)
          : 0;
    this.db
      .query(
        "INSERT OR REPLACE INTO login_failures (key, failures, last_at, locked_until) VALUES (?, ?, ?, ?)",
      )
      .run(key, failures, at, locked_until);
  }

  private row(
    key: string,
    now: number,
  ): { failures: number; last_at: number; locked_until: number } | undefined {
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
