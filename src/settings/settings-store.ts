import type { Database } from "bun:sqlite";

/** Panel-wide settings, one JSON value per key in the `settings` table. */
export class SettingsStore {
  constructor(private readonly db: Database) {}

  get<T>(key: string, fallback: T): T {
    const row = this.db.query("SELECT value FROM settings WHERE key = ?").get(key) as {
      value: string;
    } | null;
    if (!row) return fallback;
    try {
      return { ...fallback, ...(JSON.parse(row.value) as T) };
    } catch {
      return fallback;
    }
  }

  put<T>(key: string, value: T): void {
    this.db
      .query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
      .run(key, JSON.stringify(value));
  }
}
