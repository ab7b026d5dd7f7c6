import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { ApiError } from "../server/errors.ts";
import type { AppEnv } from "../server/route-table.ts";
import { SESSION_COOKIE, type SessionStore } from "./sessions.ts";
import type { TokenStore } from "./tokens.ts";
import type { User } from "./users.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface Authenticator {
  sessions: SessionStore;
  tokens: TokenStore;
}

/** Who is calling: a bearer token, else the session cookie, else nobody. */
export function identify(auth: Authenticator, headers: Headers, cookie: string | undefined) {
  const header = headers.get("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const user = m ? auth.tokens.userFor(m[1]!) : undefined;
    return user ? { user, via: "token" as const } : undefined;
  }
  const user = cookie ? auth.sessions.userFor(cookie) : undefined;
  return user ? { user, via: "cookie" as const } : undefined;
}

/**
 * Requires a caller on every route it guards. A cookie-authenticated change must come from our own
 * origin: SameSite=Strict already keeps the cookie off cross-site requests, and this refuses the
 * rest (a sibling origin, an old browser).
 */
export function requireAuth(auth: Authenticator, isPublic: (method: string, path: string) => boolean) {
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (isPublic(c.req.method, c.req.path)) return next();
    const who = identify(auth, c.req.raw.headers, getCookie(c, SESSION_COOKIE));
    if (!who) {
      throw new ApiError(
        401,
        "unauthorized",
        "log in, or send an API token as 'Authorization: Bearer <token>'",
      );
    }
    if (who.via === "cookie" && !SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      if (origin && new URL(origin).host !== new URL(c.req.url).host) {
        throw new ApiError(403, "cross_origin", "request refused: it comes from another site");
      }
    }
    c.set("user", who.user as User);
    c.set("authVia", who.via);
    await next();
  };
  return middleware;
}
