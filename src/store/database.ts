import { Database } from "bun:sqlite";
import { chmodSync, mkdirSync, statSync } from "node:fs";
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
  // Vesla apps (#13): apps assigned to teams, deployment history, alerts and their webhooks.
  `-- a team owns every container labelled vesla.managed=true, vesla.app=<app> on that engine
   CREATE TABLE team_apps (
     team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
     env TEXT NOT NULL,
     app TEXT NOT NULL,
     PRIMARY KEY (team_id, env, app)
   ) WITHOUT ROWID;
   -- the image each container name last ran, so that a recreation is seen across restarts
   CREATE TABLE deploy_state (
     env TEXT NOT NULL,
     name TEXT NOT NULL,
     container_id TEXT NOT NULL,
     image TEXT NOT NULL,
     image_id TEXT NOT NULL,
     app TEXT,
     PRIMARY KEY (env, name)
   ) WITHOUT ROWID;
   CREATE TABLE deploy_history (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     env TEXT NOT NULL,
     name TEXT NOT NULL,
     app TEXT,
     container_id TEXT NOT NULL,
     old_container_id TEXT NOT NULL,
     old_image TEXT NOT NULL,
     old_image_id TEXT NOT NULL,
     new_image TEXT NOT NULL,
     new_image_id TEXT NOT NULL,
     -- the new container's labels, so that who may read the entry is decided as for the container
     labels TEXT NOT NULL DEFAULT '{}',
     user_id INTEGER,
     username TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX deploy_history_name ON deploy_history(env, name, at);
   CREATE INDEX deploy_history_app ON deploy_history(env, app, at);
   CREATE TABLE webhooks (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     url TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   -- kind: cpu, memory (threshold %, for_seconds), died, oom, unhealthy, restart_loop
   -- (threshold restarts within for_seconds), engine_down; target: a container or app name, '' any
   CREATE TABLE alert_rules (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     env TEXT NOT NULL,
     target TEXT NOT NULL DEFAULT '',
     threshold REAL NOT NULL DEFAULT 0,
     for_seconds INTEGER NOT NULL DEFAULT 0,
     webhooks TEXT NOT NULL DEFAULT '[]',
     enabled INTEGER NOT NULL DEFAULT 1,
     silenced_until INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE alerts (
     id INTEGER PRIMARY KEY,
     rule_id INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
     env TEXT NOT NULL,
     container TEXT NOT NULL DEFAULT '',
     labels TEXT NOT NULL DEFAULT '{}',
     kind TEXT NOT NULL,
     message TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('firing','resolved')),
     started_at INTEGER NOT NULL,
     resolved_at INTEGER,
     silenced INTEGER NOT NULL DEFAULT 0,
     acked_by TEXT,
     acked_at INTEGER
   );
   CREATE INDEX alerts_started ON alerts(started_at);
   CREATE TABLE alert_deliveries (
     id INTEGER PRIMARY KEY,
     alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
     webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
     event TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     at INTEGER NOT NULL,
     status INTEGER,
     ok INTEGER NOT NULL,
     error TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);`,
  // Registries (src/registries/): where images come from; the password is sealed in `secrets`
  // under 'registry:<id>:password', never in this row. host: what image references name (host[:port]).
  `CREATE TABLE registries (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     url TEXT NOT NULL,
     host TEXT NOT NULL UNIQUE,
     username TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL
   );`,
  // Environments (#12): the tags people give engines and when each was last seen. The local engine
  // gets a row only once renamed or tagged (its URL is the command line's, never this row's). A
  // team given a whole engine gets a role there: NULL keeps each member's own role.
  `ALTER TABLE environments ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE environments ADD COLUMN last_seen_at INTEGER;
   ALTER TABLE team_resources ADD COLUMN role TEXT CHECK (role IN ('operator','viewer'));`,
  // Edge agents (src/agent/): one-time join tokens (only their hash) and the public key each agent
  // registered; a revoked agent keeps its row so that it is refused by name.
  `CREATE TABLE agent_join_tokens (
     token_hash TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE TABLE agents (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     public_key TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER,
     revoked_at INTEGER
   );`,
  // A user's own choices for the UI (src/auth/users.ts): gone with the user, never another's.
  `CREATE TABLE user_prefs (
     user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
     theme TEXT NOT NULL DEFAULT 'system' CHECK (theme IN ('system', 'light', 'dark'))
   );`,
  // Stats history in time order (#14): a bucket's rows for every container land side by side at the
  // end of the table. In series order each of 1,000 containers' rows went to a page of its own:
  // ~1,000 pages (4 MB) written a bucket, 18.7 ms median three hours in, up to a second under load,
  // on the main thread. The 10 s averages are kept 6 hours now: older ones are not copied.
  ...[
    ["stats_10s", "WHERE t >= CAST(strftime('%s', 'now') AS INTEGER) - 6 * 3600"],
    ["stats_1m", ""],
  ].map(
    ([table, kept]) => `CREATE TABLE ${table}_by_time (
       sid INTEGER NOT NULL, t INTEGER NOT NULL,
       cpu REAL, mem REAL, rx REAL, tx REAL, br REAL, bw REAL, pids REAL,
       PRIMARY KEY (t, sid)
     ) WITHOUT ROWID;
     INSERT INTO ${table}_by_time SELECT sid, t, cpu, mem, rx, tx, br, bw, pids FROM ${table} ${kept} ORDER BY t, sid;
     DROP TABLE ${table};
     ALTER TABLE ${table}_by_time RENAME TO ${table};`,
  ),
];

/** A database the panel will not run on; said in one line (main.ts), never with a stack. */
export class DatabaseError extends Error {}

/**
 * Opens (or, when there is no file, makes) the panel's database. A file that is there but empty,
 * damaged or not ours is refused: taking it for a first run would open setup to whoever comes first.
 */
export function openDatabase(dataDir: string, log: (line: string) => void = console.error): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "ghostpanel.db");
  const size = fileSize(path);
  const refuse = (why: string) =>
    new DatabaseError(
      `${path} ${why}. Restore it from a backup; or, to start afresh (setup opens again), move it away.`,
    );
  if (size === 0) throw refuse("is empty (0 bytes): it is not a GhostPanel database");
  let db: Database | undefined;
  try {
    db = open(path, false);
    chmodSync(path, 0o600);
    if (size !== undefined) checkOurs(db, refuse);
    migrate(db);
    return db;
  } catch (caught) {
    db?.close();
    if (caught instanceof DatabaseError) throw caught;
    let err = caught;
    const codeOf = (e: unknown) => (e as { code?: string }).code ?? "";
    if (codeOf(err).startsWith("SQLITE_IOERR_SHM") && size !== undefined) {
      // No room for the WAL's shared-memory index (a full disk): it can live in this process's memory
      // instead, as only this process opens the database while it runs.
      log(
        `ghostpanel: no room for ${path}-shm (${(err as Error).message}): opening the database exclusively`,
      );
      db = undefined;
      try {
        db = open(path, true);
        checkOurs(db, refuse);
        migrate(db);
        return db;
      } catch (again) {
        db?.close();
        err = again;
      }
    }
    if (err instanceof DatabaseError) throw err;
    if (codeOf(err) === "SQLITE_NOTADB" || codeOf(err).startsWith("SQLITE_CORRUPT")) {
      throw refuse(`is damaged or not a database (${(err as Error).message})`);
    }
    throw new DatabaseError(`cannot open ${path}: ${(err as Error).message}`);
  }
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DatabaseError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function open(path: string, exclusive: boolean): Database {
  const db = new Database(path, { create: true, strict: true });
  try {
    if (exclusive) db.exec("PRAGMA locking_mode = EXCLUSIVE;");
    // WAL keeps readers off the writer's back and survives a SIGKILL with every committed row.
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    // SQLite's own page cache defaults to 2 MiB, which hours of stats history fill, while the pages
    // the panel goes back to are few: a bucket's rows are appended at the history tables' ends, and
    // the other tables are small. Pages read again come from the kernel's page cache (#14).
    db.exec("PRAGMA cache_size = -256;");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A file that was there already must be one of ours: tables and no schema version is someone else's. */
function checkOurs(db: Database, refuse: (why: string) => DatabaseError): void {
  const { user_version } = db.query("PRAGMA user_version").get() as { user_version: number };
  if (user_version > MIGRATIONS.length) {
    throw refuse(
      `has schema version ${user_version}, newer than this GhostPanel knows (${MIGRATIONS.length})`,
    );
  }
  if (user_version > 0) return;
  const tables = db.query("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
  if (tables.n > 0) throw refuse("is an SQLite database, but not a GhostPanel one");
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  for (let v = row.user_version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
  if (row.user_version > 0 && row.user_version < MIGRATIONS.length) giveBackFreePages(db);
}

/**
 * After an upgrade that rewrote tables (the stats history put in time order), a quarter or more of
 * the file can be pages of the dropped tables. The history deletes as much as it writes, so they
 * would never be used up: 100 containers' day and month of history went from 290 to 493 MiB.
 * VACUUM once: 222 MiB (the 10 s averages of 6 hours, not 24), the upgrade 5 s instead of 4.2.
 */
function giveBackFreePages(db: Database): void {
  const free = (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
  const pages = (db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  if (free > 0 && free * 4 >= pages) db.exec("VACUUM");
}
