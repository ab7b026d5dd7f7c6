import type { Database } from "bun:sqlite";
import { DEFAULT_PREFS, type Prefs } from "../protocol/prefs.ts";
import { hashPassword } from "./passwords.ts";

export const ROLES = ["admin", "operator", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: number;
}

interface UserRow extends User {
  password_hash: string;
}

const COLUMNS = "id, username, role, created_at";

export class UserStore {
  constructor(private readonly db: Database) {}

  count(): number {
    return (this.db.query("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  byName(username: string): UserRow | undefined {
    return (
      (this.db.query("SELECT * FROM users WHERE username = ?").get(username) as UserRow | null) ?? undefined
    );
  }

  get(id: number): User | undefined {
    return (this.db.query(`SELECT ${COLUMNS} FROM users WHERE id = ?`).get(id) as User | null) ?? undefined;
  }

  passwordHash(id: number): string | undefined {
    const row = this.db.query("SELECT password_hash FROM users WHERE id = ?").get(id) as {
      password_hash: string;
    } | null;
    return row?.password_hash;
  }

  list(): User[] {
    return this.db.query(`SELECT ${COLUMNS} FROM users ORDER BY username`).all() as User[];
  }

  /** Creates the first admin only while no user exists; the check and the insert are one transaction. */
  async createFirstAdmin(username: string, password: string): Promise<User | undefined> {
    // Checked before hashing too: argon2id costs 19 MiB and tens of milliseconds for nothing otherwise.
    if (this.count() > 0) return undefined;
    const hash = await hashPassword(password);
    return this.db.transaction(() => (this.count() > 0 ? undefined : this.insert(username, hash, "admin")))();
  }

  /** undefined when the name is taken */
  async create(username: string, password: string, role: Role): Promise<User | undefined> {
    if (this.byName(username)) return undefined;
    const hash = await hashPassword(password);
    return this.db.transaction(() =>
      this.byName(username) ? undefined : this.insert(username, hash, role),
    )();
  }

  /**
   * Changes a role. Refused (false) when it would leave no admin: the panel could never be
   * administered again.
   */
  setRole(id: number, role: Role): boolean {
    return this.db.transaction(() => {
      if (role !== "admin" && this.isLastAdmin(id)) return false;
      this.db.query("UPDATE users SET role = ? WHERE id = ?").run(role, id);
      return true;
    })();
  }

  async setPassword(id: number, password: string): Promise<void> {
    const hash = await hashPassword(password);
    this.db
      .query("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?")
      .run(hash, Date.now(), id);
  }

  /** false when it is the last admin (see setRole) */
  remove(id: number): boolean {
    return this.db.transaction(() => {
      if (this.isLastAdmin(id)) return false;
      this.db.query("DELETE FROM users WHERE id = ?").run(id);
      return true;
    })();
  }

  /** The user's UI choices; the defaults until it makes one. */
  prefs(id: number): Prefs {
    const row = this.db.query("SELECT theme FROM user_prefs WHERE user_id = ?").get(id) as Prefs | null;
    return row ? { theme: row.theme } : { ...DEFAULT_PREFS };
  }

  setPrefs(id: number, prefs: Prefs): Prefs {
    this.db
      .query(
        "INSERT INTO user_prefs (user_id, theme) VALUES (?, ?) ON CONFLICT(user_id) DO UPDATE SET theme = excluded.theme",
      )
      .run(id, prefs.theme);
    return this.prefs(id);
  }

  private isLastAdmin(id: number): boolean {
    const row = this.db
      .query("SELECT count(*) AS n, sum(id = ?) AS me FROM users WHERE role = 'admin'")
      .get(id) as { n: number; me: number | null };
    return row.n === 1 && row.me === 1;
  }

  private insert(username: string, hash: string, role: Role): User {
    return this.db
      .query(
        `INSERT INTO users (username, password_hash, role, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(username, hash, role, Date.now(), Date.now()) as User;
  }
}

export function publicUser(u: User): User {
  return { id: u.id, username: u.username, role: u.role, created_at: u.created_at };
}
