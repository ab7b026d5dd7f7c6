import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppContext, AppEnv } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import { type Action, ENGINE_TOKEN_ACTIONS } from "./actions.ts";
import type { Caller, Policy } from "./policy.ts";
import { hashSecret } from "./secrets.ts";
import { CSRF_HEADER, SESSION_COOKIE, type SessionStore } from "./sessions.ts";
import type { TokenStore } from "./tokens.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface Authenticator {
  sessions: SessionStore;
  tokens: TokenStore;
}

/**
 * Who is calling: a bearer token, else the session cookie, else nobody. A bearer header that is
 * wrong (unknown, revoked, expired) means nobody, even with a cookie beside it.
 */
export function identify(
  auth: Authenticator,
  headers: Headers,
  cookie: string | undefined,
): Caller | undefined {
  const header = headers.get("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const found = m ? auth.tokens.find(m[1]!) : undefined;
    return found ? { user: found.user, via: "token", token: found.grant } : undefined;
  }
  const session = cookie ? auth.sessions.find(cookie) : undefined;
  return session ? { user: session.user, via: "cookie", csrfHash: session.csrfHash } : undefined;
}

/** Sets `caller` on every request that carries valid credentials; deciding is the route's job. */
export function identifyCaller(auth: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = identify(auth, c.req.raw.headers, getCookie(c, SESSION_COOKIE));
    if (caller) c.set("caller", caller);
    await next();
  };
}

/** The caller that the route table let through: present on every non-public route. */
export function callerOf(c: AppContext): Caller {
  const caller = c.get("caller");
  if (!caller) throw new ApiError(401, "unauthorized", "not logged in");
  return caller;
}

export const UNAUTHORIZED_MESSAGE = "log in, or send an API token as 'Authorization: Bearer <token>'";

/**
 * The gate every non-public route passes (the route table calls it with the route's action):
 * a caller, then for cookie-authenticated changes the CSRF defence (for their WebSocket upgrades
 * the Origin check), then the policy.
 */
export function authorize(policy: Policy, c: AppContext, action: Action): Caller {
  const caller = c.get("caller");
  if (!caller) throw new ApiError(401, "unauthorized", UNAUTHORIZED_MESSAGE);
  if (caller.via === "cookie") {
    if (!SAFE_METHODS.has(c.req.method)) checkCsrf(c, caller);
    // A WebSocket escapes the same-origin policy: any page may open one to us and the browser adds
    // the cookie (SameSite does not stop a sibling origin). Browsers always send Origin on the
    // upgrade, so it must be there and be ours.
    else if (c.req.header("upgrade")?.toLowerCase() === "websocket") checkOrigin(c, true);
  }
  const env = c.req.param("env");
  if (!policy.can(caller, action, env === undefined ? undefined : { env })) {
    throw new ApiError(403, "forbidden", forbiddenMessage(caller, action, env));
  }
  return caller;
}

/**
 * A cookie-authenticated change must come from our own page: SameSite=Strict keeps the cookie off
 * cross-site requests, the Origin check refuses a sibling origin, and the token (which only our
 * page can read from its cookie) refuses anything that forged the rest.
 */
function checkCsrf(c: AppContext, caller: Caller): void {
  checkOrigin(c, false);
  const token = c.req.header(CSRF_HEADER);
  if (!token || !caller.csrfHash || hashSecret(token) !== caller.csrfHash) {
    throw new ApiError(403, "csrf", "request refused: the CSRF token is missing or wrong; reload the page");
  }
}

/** Refuses an Origin other than this server's; `required`: refuses a request without one too. */
function checkOrigin(c: AppContext, required: boolean): void {
  const origin = c.req.header("origin");
  if (!origin) {
    if (required)
      throw new ApiError(403, "cross_origin", "request refused: it does not say where it comes from");
    return;
  }
  if (origin === "null") {
    throw new ApiError(403, "cross_origin", "request refused: it comes from an opaque origin");
  }
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    // an Origin that is not a URL is not ours
  }
  if (host !== new URL(c.req.url).host) {
    throw new ApiError(403, "cross_origin", "request refused: it comes from another site");
  }
}

function forbiddenMessage(caller: Caller, action: Action, env: string | undefined): string {
  if (caller.token?.scope === "read") return `this API token is read-only: it cannot ${action}`;
  if (caller.token?.envs && !ENGINE_TOKEN_ACTIONS.has(action))
    return `this API token is limited to some environments: it cannot ${action}`;
  if (env !== undefined && caller.token?.envs && !caller.token.envs.includes(env))
    return `this API token does not reach environment "${env}"`;
  if (action === "host:read") return `your teams do not own environment "${env}"`;
  return `your role (${caller.user.role}) does not allow ${action}`;
}
