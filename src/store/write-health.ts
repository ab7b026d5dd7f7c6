import type { Database } from "bun:sqlite";
import { statfsSync } from "node:fs";
import { dirname } from "node:path";

export type StorageProblem = "disk full" | "I/O error" | "read-only";

/** What a failed write says about the storage under the database, or undefined when it is not about storage. */
export function storageProblem(err: unknown): StorageProblem | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "SQLITE_FULL") return "disk full";
  if (code.startsWith("SQLITE_READONLY")) return "read-only";
  if (code.startsWith("SQLITE_IOERR")) return "I/O error";
  return undefined;
}

/** How often a failure that lasts is logged again, with the count of writes lost meanwhile. */
const RELOG_MS = 10 * 60 * 1000;
/** While writes fail, how often one is tried to find out whether they work again. */
const PROBE_MS = 5_000;
/**
 * After a full disk, the room there must be before writes are tried again. A failed commit leaves
 * the WAL file longer than its last good frame, so a probe can fit in that slack on a disk still
 * full, use it up, and the next real write fails again: the warning would come and go.
 */
const ROOM_NEEDED = 1 << 20;

/**
 * Whether the database takes writes. A full disk, an I/O error or a read-only file must not end the
 * panel: the writes that can be lost (stats history, session and token "last seen", retention) are
 * skipped, a change request is refused in words (the audit middleware), and `/healthz` says why.
 * One per database, shared by every store on it (`writeHealth(db)`).
 */
export class WriteHealth {
  private current: StorageProblem | undefined;
  private lost = 0;
  private loggedAt = 0;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  log: (line: string) => void = (line) => console.error(line);

  constructor(private readonly db: Database) {}

  /** Why writes fail, as the last one did; undefined while they work. */
  get problem(): StorageProblem | undefined {
    return this.current;
  }

  /** What /healthz reports; empty when writes work. */
  warnings(): string[] {
    return this.current ? [`database writes failing: ${this.current}`] : [];
  }

  /** Notes a failed write; returns false (and notes nothing) when the failure is not the storage's. */
  failed(what: string, err: unknown): boolean {
    const problem = storageProblem(err);
    if (!problem) return false;
    this.lost++;
    const now = Date.now();
    if (problem !== this.current || now - this.loggedAt >= RELOG_MS) {
      const since = this.current && this.lost > 1 ? ` (${this.lost} writes failed so far)` : "";
      this.log(
        `ghostpanel: database writes failing (${problem}): ${what}: ${(err as Error).message}${since}. ` +
          "Still serving; changes are refused until writes work again.",
      );
      this.loggedAt = now;
    }
    this.current = problem;
    this.probeTimer ??= setInterval(() => this.probe(), PROBE_MS);
    this.probeTimer.unref?.();
    return true;
  }

  /** A write went through: whatever failed before works again (a full disk: once there is room). */
  succeeded(): void {
    if (!this.current) return;
    if (this.current === "disk full" && !this.roomFor(ROOM_NEEDED)) return;
    this.log(`ghostpanel: database writes work again (${this.lost} failed while they did not).`);
    this.current = undefined;
    this.lost = 0;
    this.loggedAt = 0;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /**
   * Runs a write the panel can do without; a storage failure is noted and swallowed, anything else
   * thrown. Returns whether it was written.
   */
  tolerate(what: string, write: () => void): boolean {
    try {
      write();
    } catch (err) {
      if (this.failed(what, err)) return false;
      throw err;
    }
    this.succeeded();
    return true;
  }

  /**
   * Tries a write that needs new room (a row with a 16 KB value, deleted in the same transaction,
   * so nobody ever sees it) and returns whether writes work. A no-op write would succeed on a full
   * disk and prove nothing.
   */
  probe(): boolean {
    if (!this.current) return true;
    if (this.current === "disk full" && !this.roomFor(ROOM_NEEDED)) return false;
    try {
      this.db.transaction(() => {
        this.db
          .query(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('ghostpanel.write_probe', hex(randomblob(8192)))",
          )
          .run();
        this.db.query("DELETE FROM settings WHERE key = 'ghostpanel.write_probe'").run();
      })();
    } catch (err) {
      if (storageProblem(err)) return false;
      // The database is closed (the panel stops): nothing to probe any more.
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      return false;
    }
    this.succeeded();
    return this.current === undefined;
  }

  private roomFor(bytes: number): boolean {
    try {
      const fs = statfsSync(dirname(this.db.filename));
      return fs.bavail * fs.bsize >= bytes;
    } catch {
      // Cannot tell (an in-memory database): the write itself decides.
      return true;
    }
  }

  close(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }
}

const healthOf = new WeakMap<Database, WriteHealth>();

/** The database's WriteHealth, made on first use. */
export function writeHealth(db: Database): WriteHealth {
  let health = healthOf.get(db);
  if (!health) {
    health = new WriteHealth(db);
    healthOf.set(db, health);
  }
  return health;
}
