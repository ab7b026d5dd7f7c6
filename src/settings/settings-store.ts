import type { Database } from "bun:sqlite";

/** Panel-wide settings, one JSON value per key in the `settings` table. */
export class SettingsStore {
  constructor(private readonly db: Database) {}

  /** The stored value, or undefined when never set (or unreadable). */
  read(key: string): unknown {
    const row = this.db.query("SELECT value FROM settings WHERE key = ?").get(key) as {
      value: string;
    } | null;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value);
    } catch {
      return undefined;
    }
  }

  write(key: string, value: unknown): void {
    this.db
      .query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
      .run(key, JSON.stringify(value));
  }
}
