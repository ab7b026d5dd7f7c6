import type { Database } from "bun:sqlite";
import { SettingsStore } from "../settings/settings-store.ts";
import { type StorageProblem, type WriteHealth, writeHealth } from "../store/write-health.ts";

export const AUDIT_RESULTS = ["ok", "denied", "error"] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** One row of the audit log, as the API and the exports give it. */
export interface AuditEntry {
  id: number;
  /** milliseconds since 1970 */
  at: number;
  /** null: nobody authenticated (a failed login, a refused request) */
  user_id: number | null;
  username: string;
  address: string;
  /** the engine the request named; "" when none */
  env: string;
  /** `<METHOD> <route pattern>`, e.g. `POST /api/v1/envs/{env}/containers/{id}/{action}` */
  action: string;
  /** the concrete ids the request acted on, e.g. `id=web action=start` */
  target: string;
  result: AuditResult;
  /** the HTTP status answered */
  status: number;
  /** why it failed, for failures */
  detail: string;
}

export type NewAuditEntry = Omit<AuditEntry, "id" | "at">;

/** Every field optional; given ones must all match. Text fields match as below. */
export interface AuditFilter {
  /** the username, exactly (any case) */
  user?: string | undefined;
  /** part of the action */
  action?: string | undefined;
  env?: string | undefined;
  result?: AuditResult | undefined;
  /** from this time on (ms) */
  since?: number | undefined;
  /** up to this time, inclusive (ms) */
  until?: number | undefined;
  /** part of the target */
  q?: string | undefined;
  /** only entries older than this id: the cursor for the next page */
  before?: number | undefined;
}

export const RETENTION_KEY = "audit.retention_days";
export const DEFAULT_RETENTION_DAYS = 90;
export const MAX_RETENTION_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Anonymous refusals: this many a window per address are listed, the rest counted in one row. */
const LISTED_REFUSALS = 10;
const REFUSAL_WINDOW_MS = 60 * 1000;
const MAX_REFUSAL_WINDOWS = 10_000;
export const COUNTED_ACTION = "(refusals counted)";

interface RefusalWindow {
  from: number;
  last: number;
  listed: number;
  counted: number;
}
const COLUMNS = "id, at, user_id, username, address, env, action, target, result, status, detail";

/**
 * The audit log: who did what, from where, to which engine and object, and how it ended. `append`
 * inserts synchronously, in its own transaction, so an entry is committed before the answer to the
 * request it records is sent (docs/decisions.md: why that survives a SIGKILL).
 */
export class AuditLog {
  private readonly insert;
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  private readonly refusals = new Map<string, RefusalWindow>();
  private refusalTimer: ReturnType<typeof setInterval> | undefined;

  private readonly settings: SettingsStore;
  private readonly health: WriteHealth;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.settings = new SettingsStore(db);
    this.health = writeHealth(db);
    this.insert = db.query(
      `INSERT INTO audit_log (at, user_id, username, address, env, action, target, result, status, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /**
   * Returns whether the entry was committed. When the storage fails it is not, and the entry goes
   * to the panel's log instead (one line each), so that what was done stays on record somewhere;
   * the audit middleware refuses changes while writes fail, so these stay few.
   */
  append(e: NewAuditEntry): boolean {
    const at = this.now();
    const written = this.health.tolerate("audit log", () => {
      this.insert.run(
        at,
        e.user_id,
        e.username,
        e.address,
        e.env,
        e.action,
        e.target,
        e.result,
        e.status,
        e.detail,
      );
    });
    if (!written) this.health.log(`ghostpanel: audit entry not stored: ${JSON.stringify({ at, ...e })}`);
    return written;
  }

  /**
   * Why no change can be recorded now: writes failed before and a fresh try fails too. Undefined
   * when they work.
   */
  unwritable(): StorageProblem | undefined {
    return this.health.probe() ? undefined : this.health.problem;
  }

  /**
   * For requests without valid credentials that were refused: anyone can send those by the
   * thousand, and a row each would let them fill the disk. Per address (`block`) and minute, the
   * first LISTED_REFUSALS are appended as usual; the rest are counted, and the count is one row
   * when the minute is over (or the panel stops; a SIGKILL loses at most that minute's count).
   */
  appendRefusal(block: string, e: NewAuditEntry): void {
    const now = this.now();
    let w = this.refusals.get(block);
    if (w && now - w.from >= REFUSAL_WINDOW_MS) {
      this.closeWindow(block, w);
      w = undefined;
    }
    if (!w) {
      if (this.refusals.size >= MAX_REFUSAL_WINDOWS) {
        const [oldest, window] = this.refusals.entries().next().value!;
        this.closeWindow(oldest, window);
      }
      w = { from: now, last: now, listed: 0, counted: 0 };
      this.refusals.set(block, w);
      this.refusalTimer ??= setInterval(() => this.closeWindows(false), REFUSAL_WINDOW_MS);
      this.refusalTimer.unref();
    }
    w.last = now;
    if (w.listed < LISTED_REFUSALS) {
      w.listed++;
      this.append(e);
    } else w.counted++;
  }

  /** Writes the count of every window that is over (all of them with `all`). */
  private closeWindows(all: boolean): void {
    const now = this.now();
    for (const [block, w] of this.refusals)
      if (all || now - w.from >= REFUSAL_WINDOW_MS) this.closeWindow(block, w);
    if (this.refusals.size === 0) {
      clearInterval(this.refusalTimer);
      this.refusalTimer = undefined;
    }
  }

  private closeWindow(block: string, w: RefusalWindow): void {
    this.refusals.delete(block);
    if (w.counted === 0) return;
    this.append({
      user_id: null,
      username: "",
      address: block,
      env: "",
      action: COUNTED_ACTION,
      target: `count=${w.counted}`,
      result: "denied",
      status: 0,
      detail: `${w.counted} more requests without valid credentials refused from ${block} between ${new Date(w.from).toISOString()} and ${new Date(w.last).toISOString()}; counted, not listed`,
    });
  }

  /** Newest first, at most `limit`; pass the last id back as `before` for the next page. */
  query(filter: AuditFilter, limit: number): AuditEntry[] {
    const { where, args } = whereClause(filter);
    return this.db
      .query(`SELECT ${COLUMNS} FROM audit_log ${where} ORDER BY id DESC LIMIT ?`)
      .all(...args, limit) as AuditEntry[];
  }

  retentionDays(): number {
    const days = Number(this.settings.read(RETENTION_KEY));
    return Number.isInteger(days) && days >= 1 && days <= MAX_RETENTION_DAYS ? days : DEFAULT_RETENTION_DAYS;
  }

  /** Stores the setting and prunes at once: shortening it takes effect now, not within the hour. */
  setRetentionDays(days: number): void {
    this.settings.write(RETENTION_KEY, days);
    this.prune();
  }

  /** Deletes entries older than the retention; returns how many. */
  prune(): number {
    const cutoff = this.now() - this.retentionDays() * DAY_MS;
    return this.db.query("DELETE FROM audit_log WHERE at < ?").run(cutoff).changes;
  }

  /** Prunes now and every hour until `stop`. */
  startRetention(): void {
    const prune = () => this.health.tolerate("audit retention", () => this.prune());
    prune();
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  stop(): void {
    clearInterval(this.pruneTimer);
    this.closeWindows(true);
  }
}

function whereClause(f: AuditFilter): { where: string; args: (string | number)[] } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, value: string | number | undefined) => {
    if (value === undefined || value === "") return;
    parts.push(sql);
    args.push(value);
  };
  add("username = ? COLLATE NOCASE", f.user);
  add("action LIKE ? ESCAPE '\\'", f.action && contains(f.action));
  add("env = ?", f.env);
  add("result = ?", f.result);
  add("at >= ?", f.since);
  add("at <= ?", f.until);
  add("target LIKE ? ESCAPE '\\'", f.q && contains(f.q));
  add("id < ?", f.before);
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", args };
}

/** A LIKE pattern for "contains", with the caller's own % and _ taken literally. */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, "\\$&")}%`;
}
