import { Database } from "bun:sqlite";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";

// Each entry moves the schema one version forward; never edit a shipped entry, append a new one.
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('admin','operator','viewer')),
     created_at INTEGER NOT NULL
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE api_tokens (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER
   );
   CREATE TABLE environments (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     url TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Stats history (src/stats/history.ts): one series per container (or "host") per environment,
  // 10 s averages kept a day, 1 min averages kept 30 days.
  `CREATE TABLE stats_series (
     sid INTEGER PRIMARY KEY,
     env TEXT NOT NULL,
     ref TEXT NOT NULL,
     UNIQUE (env, ref)
   );
   CREATE TABLE stats_10s (
     sid INTEGER NOT NULL, t INTEGER NOT NULL,
     cpu REAL, mem REAL, rx REAL, tx REAL, br REAL, bw REAL, pids REAL,
     PRIMARY KEY (sid, t)
   ) WITHOUT ROWID;
   CREATE TABLE stats_1m (
     sid INTEGER NOT NULL, t INTEGER NOT NULL,
     cpu REAL, mem REAL, rx REAL, tx REAL, br REAL, bw REAL, pids REAL,
     PRIMARY KEY (sid, t)
   ) WITHOUT ROWID;`,
];

export function openDatabase(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "ghostpanel.db");
  const db = new Database(path, { create: true, strict: true });
  // WAL keeps readers off the writer's back and survives a SIGKILL with every committed row.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  chmodSync(path, 0o600);
  migrate(db);
  return db;
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  for (let v = row.user_version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
