import type { Database } from "bun:sqlite";
import { hashPassword } from "./passwords.ts";

export type Role = "admin" | "operator" | "viewer";

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: number;
}

interface UserRow extends User {
  password_hash: string;
}

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

  /** Creates the first admin only while no user exists; the check and the insert are one transaction. */
  async createFirstAdmin(username: string, password: string): Promise<User | undefined> {
    // Checked before hashing too: argon2id costs 19 MiB and tens of milliseconds for nothing otherwise.
    if (this.count() > 0) return undefined;
    const hash = await hashPassword(password);
    return this.db.transaction(() => {
      if (this.count() > 0) return undefined;
      return this.db
        .query(
          "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, 'admin', ?) RETURNING id, username, role, created_at",
        )
        .get(username, hash, Date.now()) as User;
    })();
  }
}

export function publicUser(u: User): User {
  return { id: u.id, username: u.username, role: u.role, created_at: u.created_at };
}
