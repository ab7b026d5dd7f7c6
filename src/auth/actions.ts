import type { Role } from "./users.ts";

/**
 * Everything a caller can be allowed to do, as `<what>:<verb>`. Every route and every stream topic
 * names one of these (src/http/route-table.ts, src/stream/bus.ts); src/auth/policy.ts decides.
 */
export const ACTIONS = [
  // the caller's own account: who am I, my tokens, my password, logging out
  "self:read",
  "self:write",
  // connecting to the live stream; each topic is then checked on its own
  "stream:read",
  "envs:read",
  "envs:manage",
  "containers:read",
  "containers:operate",
  "containers:exec",
  "host:read",
  "users:manage",
  "teams:manage",
  "audit:read",
  "settings:manage",
  "metrics:read",
  // cancelling a running job (a pull, a build): the handler lets only its starter or an admin
  "jobs:cancel",
  "networks:read",
  "networks:operate",
  "events:read",
  // an engine-wide prune (networks, or everything unused): what goes is not one team's
  "system:prune",
  // volumes: their files (browse, download, back up) can hold secrets, so reading them is not a read
  "volumes:read",
  "volumes:operate",
  "volumes:files",
  "volumes:prune",
  // alerts (src/alerts/): seeing those of what one may see; rules and webhooks are the admins'
  "alerts:read",
  "alerts:manage",
] as const;
export type Action = (typeof ACTIONS)[number];

/** What a route needs: "public" (no caller at all) or one action. */
export type RoutePolicy = "public" | Action;

const VIEWER: Action[] = [
  "self:read",
  "self:write",
  "stream:read",
  "envs:read",
  "containers:read",
  "host:read",
  "networks:read",
  "events:read",
  "volumes:read",
  "alerts:read",
];
const OPERATOR: Action[] = [
  ...VIEWER,
  "containers:operate",
  "containers:exec",
  "jobs:cancel",
  "networks:operate",
  "volumes:operate",
  "volumes:files",
];

export const ROLE_ACTIONS: Record<Role, ReadonlySet<Action>> = {
  admin: new Set(ACTIONS),
  operator: new Set(OPERATOR),
  viewer: new Set(VIEWER),
};

/** The actions a read-only API token keeps: it changes nothing, not even its own account. */
export const READ_ACTIONS: ReadonlySet<Action> = new Set([
  "self:read",
  "stream:read",
  "envs:read",
  "containers:read",
  "host:read",
  "audit:read",
  "metrics:read",
  "networks:read",
  "events:read",
  "volumes:read",
  "alerts:read",
]);

/**
 * The actions a token limited to some engines keeps: its engines' containers and figures, and its
 * own account. What spans every engine — users, teams, settings, the audit log, the list of
 * engines itself — is the panel's administration, out of reach of a token made for one engine.
 */
export const ENGINE_TOKEN_ACTIONS: ReadonlySet<Action> = new Set([
  "self:read",
  "self:write",
  "stream:read",
  "envs:read",
  "containers:read",
  "containers:operate",
  "containers:exec",
  "host:read",
  "metrics:read",
  "jobs:cancel",
  "networks:read",
  "networks:operate",
  "events:read",
  "system:prune",
  "volumes:read",
  "volumes:operate",
  "volumes:files",
  "volumes:prune",
  "alerts:read",
]);

/**
 * Actions that change things even when a route reaches them by GET: a WebSocket that runs commands
 * in a container is a GET; and reads that must leave a trace: a volume's files carried away.
 * Audited like any change; every other GET is a read.
 */
export const CHANGING_ACTIONS: ReadonlySet<Action> = new Set(["containers:exec", "volumes:files"]);
