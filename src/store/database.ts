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
  // Access control (#4): teams and what they own, session timeouts and CSRF, token scope and expiry,
  // login throttling, the audit log, settings, and secrets kept encrypted (src/secrets).
  `CREATE TABLE teams (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE team_members (
     team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     PRIMARY KEY (team_id, user_id)
   ) WITHOUT ROWID;
   -- kind 'env': the whole engine; kind 'container': one container by name on that engine
   CREATE TABLE team_resources (
     team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
     env TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('env','container')),
     ref TEXT NOT NULL DEFAULT '',
     PRIMARY KEY (team_id, env, kind, ref)
   ) WITHOUT ROWID;
   ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE sessions ADD COLUMN csrf_hash TEXT NOT NULL DEFAULT '';
   ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
   CREATE INDEX sessions_user ON sessions(user_id);
   ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
   ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('read','full'));
   -- JSON array of environment ids; NULL: every environment
   ALTER TABLE api_tokens ADD COLUMN envs TEXT;
   ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
   -- key: 'user:<name>' or 'addr:<address>'
   CREATE TABLE login_failures (
     key TEXT PRIMARY KEY,
     failures INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     locked_until INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     user_id INTEGER,
     username TEXT NOT NULL DEFAULT '',
     address TEXT NOT NULL DEFAULT '',
     env TEXT NOT NULL DEFAULT '',
     action TEXT NOT NULL,
     target TEXT NOT NULL DEFAULT '',
     result TEXT NOT NULL,
     status INTEGER NOT NULL DEFAULT 0,
     detail TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX audit_log_at ON audit_log(at);
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) WITHOUT ROWID;
   -- AES-GCM sealed values (src/secrets); owner: e.g. 'env:<id>:tls', 'registry:<id>:password'
   CREATE TABLE secrets (
     owner TEXT PRIMARY KEY,
     sealed BLOB NOT NULL,
     updated_at INTEGER NOT NULL
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
