import type { Database } from "bun:sqlite";
import { ChangeListeners } from "./changes.ts";

/** The role a team may be given on a whole engine; none: each member keeps their own role there. */
export type EnvRole = "operator" | "viewer";

export interface Team {
  id: number;
  name: string;
  created_at: number;
  members: number[];
  /** what the team owns besides containers labelled `ghostpanel.team=<name>` */
  resources: TeamResource[];
}

export interface TeamResource {
  env: string;
  /**
   * "env": every resource of that engine; "container": one container, by name; "app": every
   * container of a Vesla app (labelled `vesla.managed=true`, `vesla.app=<ref>`) on that engine
   */
  kind: "env" | "container" | "app";
  ref: string;
  /** kind "env" only: the members' role on that engine (absent: each member's own role) */
  role?: EnvRole;
}

/** What a user's teams own, in the form every check reads it. */
export interface Ownership {
  teams: ReadonlySet<string>;
  envs: ReadonlySet<string>;
  /** per engine given whole: the roles the user's teams were given there (null: the user's own) */
  envRoles: ReadonlyMap<string, readonly (EnvRole | null)[]>;
  /** `${env}\u0000${container name}` */
  containers: ReadonlySet<string>;
  /** `${env}\u0000${Vesla app name}` */
  apps: ReadonlySet<string>;
}

export const TEAM_LABEL = "ghostpanel.team";

/**
 * Teams, their members and what they own. Ownership is read on every list and every frame a
 * non-admin gets, so each user's is kept in memory and dropped whenever any team changes.
 */
export class TeamStore {
  private cache = new Map<number, Ownership>();
  private granted: ReadonlySet<string> | undefined;
  private changes = new ChangeListeners();

  constructor(private readonly db: Database) {}

  /** Called after any change, so that open streams can re-filter what they send. */
  onChange(listener: () => void): void {
    this.changes.add(listener);
  }

  list(): Team[] {
    const teams = this.db.query("SELECT id, name, created_at FROM teams ORDER BY name").all() as Omit<
      Team,
      "members" | "resources"
    >[];
    const members = this.db.query("SELECT team_id, user_id FROM team_members").all() as {
      team_id: number;
      user_id: number;
    }[];
    const resources = this.db
      .query("SELECT team_id, env, kind, ref, role FROM team_resources")
      .all() as (Omit<TeamResource, "role"> & { team_id: number; role?: EnvRole | null })[];
    const apps = this.db.query("SELECT team_id, env, app AS ref FROM team_apps").all() as {
      team_id: number;
      env: string;
      ref: string;
    }[];
    resources.push(...apps.map((a) => ({ ...a, kind: "app" as const })));
    return teams.map((t) => ({
      ...t,
      members: members.filter((m) => m.team_id === t.id).map((m) => m.user_id),
      resources: resources
        .filter((r) => r.team_id === t.id)
        .map(({ env, kind, ref, role }) => (role ? { env, kind, ref, role } : { env, kind, ref })),
    }));
  }

  get(id: number): Team | undefined {
    return this.list().find((t) => t.id === id);
  }

  /** undefined when the name is taken */
  create(name: string): Team | undefined {
    const row = this.db
      .query("INSERT INTO teams (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id")
      .get(name, Date.now()) as { id: number } | null;
    if (!row) return undefined;
    this.changed();
    return this.get(row.id);
  }

  remove(id: number): boolean {
    const gone = this.db.query("DELETE FROM teams WHERE id = ?").run(id).changes > 0;
    if (gone) this.changed();
    return gone;
  }

  /** Replaces a team's members and explicit resources in one transaction. */
  update(id: number, change: { members?: number[]; resources?: TeamResource[] }): void {
    this.db.transaction(() => {
      if (change.members) {
        this.db.query("DELETE FROM team_members WHERE team_id = ?").run(id);
        const add = this.db.query("INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)");
        for (const user of change.members) add.run(id, user);
      }
      if (change.resources) {
        this.db.query("DELETE FROM team_resources WHERE team_id = ?").run(id);
        this.db.query("DELETE FROM team_apps WHERE team_id = ?").run(id);
        const add = this.db.query(
          "INSERT OR IGNORE INTO team_resources (team_id, env, kind, ref, role) VALUES (?, ?, ?, ?, ?)",
        );
        const addApp = this.db.query("INSERT OR IGNORE INTO team_apps (team_id, env, app) VALUES (?, ?, ?)");
        for (const r of change.resources) {
          if (r.kind === "app") addApp.run(id, r.env, r.ref);
          else if (r.kind === "env") add.run(id, r.env, r.kind, "", r.role ?? null);
          else add.run(id, r.env, r.kind, r.ref, null);
        }
      }
    })();
    this.changed();
  }

  /**
   * Engines given whole to at least one team: those are their teams' alone, and a non-admin outside
   * them sees nothing of such an engine (src/auth/policy.ts).
   */
  grantedEnvs(): ReadonlySet<string> {
    this.granted ??= new Set(
      (
        this.db.query("SELECT DISTINCT env FROM team_resources WHERE kind = 'env'").all() as { env: string }[]
      ).map((r) => r.env),
    );
    return this.granted;
  }

  /** An engine no longer managed: what teams were given of it goes too, so a new one of that id starts bare. */
  forgetEnv(env: string): void {
    this.db.transaction(() => {
      this.db.query("DELETE FROM team_resources WHERE env = ?").run(env);
      this.db.query("DELETE FROM team_apps WHERE env = ?").run(env);
    })();
    this.changed();
  }

  /** Names of the teams a user is in. */
  teamsOf(userId: number): string[] {
    return [...this.ownership(userId).teams];
  }

  ownership(userId: number): Ownership {
    let own = this.cache.get(userId);
    if (own) return own;
    const teams = this.db
      .query("SELECT t.id, t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ?")
      .all(userId) as { id: number; name: string }[];
    const ids = teams.map((t) => t.id);
    const resources = ids.length
      ? (this.db
          .query(
            `SELECT env, kind, ref, role FROM team_resources WHERE team_id IN (${ids.map(() => "?").join(",")})`,
          )
          .all(...ids) as (TeamResource & { role: EnvRole | null })[])
      : [];
    const apps = ids.length
      ? (this.db
          .query(`SELECT env, app FROM team_apps WHERE team_id IN (${ids.map(() => "?").join(",")})`)
          .all(...ids) as { env: string; app: string }[])
      : [];
    own = {
      teams: new Set(teams.map((t) => t.name)),
      envs: new Set(resources.filter((r) => r.kind === "env").map((r) => r.env)),
      envRoles: resources
        .filter((r) => r.kind === "env")
        .reduce(
          (m, r) => m.set(r.env, [...(m.get(r.env) ?? []), r.role]),
          new Map<string, (EnvRole | null)[]>(),
        ),
      containers: new Set(
        resources.filter((r) => r.kind === "container").map((r) => `${r.env}\u0000${r.ref}`),
      ),
      apps: new Set(apps.map((a) => `${a.env}\u0000${a.app}`)),
    };
    this.cache.set(userId, own);
    return own;
  }

  /** Users removed or changed elsewhere (users.ts) drop their cached ownership too. */
  forget(userId?: number): void {
    if (userId === undefined) {
      this.cache.clear();
      this.granted = undefined;
    } else this.cache.delete(userId);
    this.changes.notify();
  }

  private changed(): void {
    this.forget();
  }
}
