import type { Database } from "bun:sqlite";
import { hashSecret, newSecret } from "./secrets.ts";
import type { User } from "./users.ts";

export interface ApiToken {
  id: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

// last_used_at is written at most once a minute per token so that a busy script does not turn
// every read into a database write.
const LAST_USED_RESOLUTION_MS = 60_000;

export class TokenStore {
  constructor(private readonly db: Database) {}

  create(userId: number, name: string): { token: string; info: ApiToken } {
    const token = newSecret("gpt_");
    const info = this.db
      .query(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id, name, created_at, last_used_at",
      )
      .get(userId, name, hashSecret(token), Date.now()) as ApiToken;
    return { token, info };
  }

  list(userId: number): ApiToken[] {
    return this.db
      .query("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ? ORDER BY id")
      .all(userId) as ApiToken[];
  }

  revoke(userId: number, id: number): boolean {
    return this.db.query("DELETE FROM api_tokens WHERE id = ? AND user_id = ?").run(id, userId).changes > 0;
  }

  userFor(token: string): User | undefined {
    const row = this.db
      .query(
        `SELECT u.id, u.username, u.role, u.created_at, t.id AS token_id, t.last_used_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`,
      )
      .get(hashSecret(token)) as (User & { token_id: number; last_used_at: number | null }) | null;
    if (!row) return undefined;
    const now = Date.now();
    if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
      this.db.query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(now, row.token_id);
    }
    return { id: row.id, username: row.username, role: row.role, created_at: row.created_at };
  }
}
