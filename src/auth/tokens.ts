import type { Database } from "bun:sqlite";
import { writeHealth } from "../store/write-health.ts";
import { ChangeListeners } from "./changes.ts";
import type { TokenGrant } from "./policy.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { User } from "./users.ts";

export interface ApiToken {
  id: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  scope: "read" | "full";
  /** environment ids it works on; null: all */
  envs: string[] | null;
}

interface TokenRow extends Omit<ApiToken, "envs"> {
  envs: string | null;
}

export interface NewToken {
  name: string;
  scope: "read" | "full";
  expires_at: number | null;
  envs: string[] | null;
}

// last_used_at is written at most once a minute per token so that a busy script does not turn
// every read into a database write.
const LAST_USED_RESOLUTION_MS = 60_000;
const COLUMNS = "id, name, created_at, last_used_at, expires_at, scope, envs";

export class TokenStore {
  private changes = new ChangeListeners();

  constructor(private readonly db: Database) {}

  /** Called after a token was revoked, for the streams it opened. */
  onChange(listener: () => void): void {
    this.changes.add(listener);
  }

  create(userId: number, spec: NewToken): { token: string; info: ApiToken } {
    const token = newSecret("gpt_");
    const row = this.db
      .query(
        `INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at, scope, envs)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(
        userId,
        spec.name,
        hashSecret(token),
        Date.now(),
        spec.expires_at,
        spec.scope,
        spec.envs ? JSON.stringify(spec.envs) : null,
      ) as TokenRow;
    return { token, info: fromRow(row) };
  }

  list(userId: number): ApiToken[] {
    return (
      this.db
        .query(`SELECT ${COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id`)
        .all(userId) as TokenRow[]
    ).map(fromRow);
  }

  revoke(userId: number, id: number): boolean {
    const gone =
      this.db.query("DELETE FROM api_tokens WHERE id = ? AND user_id = ?").run(id, userId).changes > 0;
    if (gone) this.changes.notify();
    return gone;
  }

  /** The token's user and limits; undefined when unknown, revoked or expired. */
  find(token: string): { user: User; grant: TokenGrant } | undefined {
    const now = Date.now();
    const row = this.db
      .query(
        `SELECT u.id, u.username, u.role, u.created_at, t.id AS token_id, t.last_used_at, t.scope, t.envs
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?)`,
      )
      .get(hashSecret(token), now) as
      | (User & {
          token_id: number;
          last_used_at: number | null;
          scope: "read" | "full";
          envs: string | null;
        })
      | null;
    if (!row) return undefined;
    if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
      // Bookkeeping: on a full disk the token still works.
      writeHealth(this.db).tolerate("token last used", () => {
        this.db.query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(now, row.token_id);
      });
    }
    return {
      user: { id: row.id, username: row.username, role: row.role, created_at: row.created_at },
      grant: {
        id: row.token_id,
        scope: row.scope,
        envs: row.envs ? (JSON.parse(row.envs) as string[]) : null,
      },
    };
  }
}

function fromRow(r: TokenRow): ApiToken {
  return { ...r, envs: r.envs ? (JSON.parse(r.envs) as string[]) : null };
}
