import { appOf } from "../protocol/apps.ts";
import { type Action, ENGINE_TOKEN_ACTIONS, READ_ACTIONS, ROLE_ACTIONS } from "./actions.ts";
import { TEAM_LABEL, type TeamStore } from "./teams.ts";
import type { Role, User } from "./users.ts";

/** What an API token was limited to when it was made. */
export interface TokenGrant {
  id: number;
  scope: "read" | "full";
  /** environment ids; null: every environment */
  envs: string[] | null;
}

/** Who is calling and through what: a session cookie, or a token and its limits. */
export interface Caller {
  user: User;
  via: "cookie" | "token";
  token?: TokenGrant;
  /** the session's CSRF token hash, for cookie callers */
  csrfHash?: string;
}

/** The little of a container that ownership depends on. */
export interface Owned {
  name: string;
  labels: Record<string, string>;
}

/**
 * What one caller may see of an engine's containers. Callers who see the same set share a key, so a
 * stream can encode each frame once per audience instead of once per subscriber.
 */
export interface Audience {
  key: string;
  sees(container: Owned): boolean;
}

const EVERYTHING: Audience = { key: "*", sees: () => true };
const NOTHING: Audience = { key: "-", sees: () => false };

/**
 * The one place that says yes or no: `can(caller, action, resource)`. Routes reach it through the
 * route table (every route names its action), stream topics through the bus; handlers ask it again
 * for the one resource they act on, and lists and streams filter through `audience`.
 *
 * A caller may do an action when its role has it, its token's scope and engines allow it (a token
 * limited to some engines keeps none of the panel-wide administration), and —
 * unless it is an admin — one of its teams owns the resource: the engine (assigned to the team), or
 * the container (labelled `ghostpanel.team=<team>`, assigned by name, or one of a Vesla app assigned
 * to the team: src/protocol/apps.ts).
 *
 * An engine given whole to teams is theirs: its role there is the one their teams were given
 * (`roleOn`), whatever the member's role elsewhere, and a non-admin in none of those teams sees
 * nothing of it — not its name, containers, figures, logs or topics.
 */
export class Policy {
  /** Non-admins' audiences per user and engine: asked for every frame a stream sends each of them. */
  private audiences = new Map<string, Audience>();

  constructor(private readonly teams: TeamStore) {
    teams.onChange(() => this.audiences.clear());
  }

  can(caller: Caller, action: Action, resource?: { env?: string; container?: Owned }): boolean {
    const env = resource?.env;
    const role = env === undefined ? caller.user.role : this.roleOn(caller, env);
    if (!ROLE_ACTIONS[role].has(action)) return false;
    const token = caller.token;
    if (token?.scope === "read" && !READ_ACTIONS.has(action)) return false;
    if (token?.envs && !ENGINE_TOKEN_ACTIONS.has(action)) return false;
    if (env === undefined) return true;
    if (!this.reaches(caller, [env])) return false;
    if (caller.user.role === "admin") return true;
    if (this.shutOut(caller, env)) return false;
    if (resource?.container) return this.audience(caller, env).sees(resource.container);
    // Engine-wide figures (the host's) need the engine itself; lists are filtered instead.
    return action !== "host:read" || this.ownsEnv(caller, env);
  }

  /**
   * Whether the caller's credentials reach every one of these engines (null: every engine there is).
   * Only a token limited to some engines does not: it reaches those, and what reaches no further.
   */
  reaches(caller: Caller, envs: readonly string[] | null): boolean {
    const limit = caller.token?.envs;
    return !limit || envs?.every((e) => limit.includes(e)) === true;
  }

  /**
   * The caller's role on one engine: a team's grant of the whole engine sets it there (the strongest,
   * when several of its teams have one); elsewhere, and for admins, the role the user has.
   */
  roleOn(caller: Caller, env: string): Role {
    const own = caller.user.role;
    if (own === "admin") return own;
    const grants = this.teams.ownership(caller.user.id).envRoles.get(env);
    if (!grants) return own;
    return grants.some((g) => (g ?? own) === "operator") ? "operator" : "viewer";
  }

  /** An engine given whole to teams the caller is in none of. */
  private shutOut(caller: Caller, env: string): boolean {
    return (
      caller.user.role !== "admin" &&
      this.teams.grantedEnvs().has(env) &&
      !this.teams.ownership(caller.user.id).envs.has(env)
    );
  }

  /** Whether the caller's teams own the whole engine (admins own everything). */
  ownsEnv(caller: Caller, env: string): boolean {
    return caller.user.role === "admin" || this.teams.ownership(caller.user.id).envs.has(env);
  }

  /** Whether the caller's teams own a Vesla app on an engine (or the whole engine; admins own all). */
  ownsApp(caller: Caller, env: string, app: string): boolean {
    return this.ownsEnv(caller, env) || this.teams.ownership(caller.user.id).apps.has(`${env}\u0000${app}`);
  }

  audience(caller: Caller, env: string): Audience {
    if (!this.reaches(caller, [env]) || this.shutOut(caller, env)) return NOTHING;
    if (caller.user.role === "admin") return EVERYTHING;
    const cacheKey = `${caller.user.id}\u0000${env}`;
    const cached = this.audiences.get(cacheKey);
    if (cached) return cached;
    const own = this.teams.ownership(caller.user.id);
    const assigned = [...own.containers].filter((c) => c.startsWith(`${env}\u0000`));
    const apps = [...own.apps].filter((a) => a.startsWith(`${env}\u0000`));
    const audience: Audience = own.envs.has(env)
      ? EVERYTHING
      : {
          key: `teams:${[...own.teams].sort().join(",")}|${assigned.sort().join(",")}|${apps.sort().join(",")}`,
          sees: (c) => {
            const team = c.labels[TEAM_LABEL];
            if ((team !== undefined && own.teams.has(team)) || own.containers.has(`${env}\u0000${c.name}`))
              return true;
            const app = appOf(c);
            return app !== undefined && own.apps.has(`${env}\u0000${app}`);
          },
        };
    this.audiences.set(cacheKey, audience);
    return audience;
  }

  teamsOf(caller: Caller): string[] {
    return this.teams.teamsOf(caller.user.id);
  }

  /** Called whenever who owns what may have changed (a team, its members, a user's role). */
  onOwnershipChange(listener: () => void): void {
    this.teams.onChange(listener);
  }
}
