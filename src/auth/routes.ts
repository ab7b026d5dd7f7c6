import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { addressBlock, clientAddress } from "../http/client-address.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { Credentials, commonErrors, errorResponse, json, Password, UserSchema } from "../http/schemas.ts";
import { type Prefs, THEME_COOKIE, THEMES } from "../protocol/prefs.ts";
import { addressKey, type LoginThrottle, userKey } from "./login-throttle.ts";
import { callerOf } from "./middleware.ts";
import { verifyPassword } from "./passwords.ts";
import type { Policy } from "./policy.ts";
import { CSRF_COOKIE, SESSION_COOKIE, type SessionStore } from "./sessions.ts";
import type { TeamStore } from "./teams.ts";
import type { TokenStore } from "./tokens.ts";
import { publicUser, type User, type UserStore } from "./users.ts";

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  teams: TeamStore;
  policy: Policy;
  throttle: LoginThrottle;
  secureCookies: boolean;
}

const PrefsSchema = z.object({ theme: z.enum(THEMES) });
const UserAnswer = z.object({ user: UserSchema, prefs: PrefsSchema });
const Me = z.object({
  user: UserSchema,
  teams: z.array(z.string()),
  via: z.enum(["cookie", "token"]),
  prefs: PrefsSchema,
});
const TokenInfo = z.object({
  id: z.number(),
  name: z.string(),
  created_at: z.number(),
  last_used_at: z.nullable(z.number()),
  expires_at: z.nullable(z.number()),
  scope: z.enum(["read", "full"]),
  envs: z.nullable(z.array(z.string())),
});
const NewTokenBody = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  scope: z.optional(z.enum(["read", "full"])),
  expires_in_days: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(3650))),
  envs: z.optional(
    z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1), z.maxLength(100)),
  ),
});
const DAY_MS = 24 * 60 * 60 * 1000;

export function authRoutes(routes: RouteTable, deps: AuthDeps): void {
  const cookieOptions = { sameSite: "Strict", secure: deps.secureCookies, path: "/" } as const;
  const startSession = (c: AppContext, user: User) => {
    const { token, csrf } = deps.sessions.create(user.id, clientAddress(c));
    const maxAge = deps.sessions.limits.absoluteMs / 1000;
    setCookie(c, SESSION_COOKIE, token, { ...cookieOptions, httpOnly: true, maxAge });
    setCookie(c, CSRF_COOKIE, csrf, { ...cookieOptions, maxAge });
  };
  /** Counts a password check against the name and the address before it runs, or refuses it (429). */
  const attempt = (c: AppContext, username: string) => {
    const keys = [userKey(username), addressKey(addressBlock(clientAddress(c)))];
    const wait = deps.throttle.attempt(keys);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      c.header("Retry-After", String(seconds));
      throw new ApiError(429, "too_many_attempts", `too many failed logins: try again in ${seconds} s`);
    }
    return keys;
  };
  const endSession = (c: AppContext) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) deps.sessions.revoke(cookie);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    deleteCookie(c, CSRF_COOKIE, { path: "/" });
  };

  /** The caller's prefs, with the theme also in a cookie that the page is served with next time. */
  const prefsOf = (c: AppContext, id: number): Prefs => {
    const prefs = deps.users.prefs(id);
    setCookie(c, THEME_COOKIE, prefs.theme, { ...cookieOptions, maxAge: 400 * 24 * 60 * 60 });
    return prefs;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/setup",
      tag: "auth",
      policy: "public",
      summary: "Whether the first admin still has to be created",
      responses: { 200: json(z.object({ needed: z.boolean() }), "Setup state") },
    },
    (c) => c.json({ needed: deps.users.count() === 0 }),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/setup",
      tag: "auth",
      policy: "public",
      summary: "Create the first admin (only while no user exists); logs in",
      body: Credentials,
      responses: {
        201: json(UserAnswer, "Admin created"),
        400: commonErrors[400],
        409: errorResponse("Already set up"),
      },
    },
    async (c, { body }) => {
      noteAudit(c, { user: { username: body.username } });
      const user = await deps.users.createFirstAdmin(body.username, body.password);
      if (!user) throw new ApiError(409, "already_set_up", "the panel is already set up; log in instead");
      noteAudit(c, { user });
      startSession(c, user);
      return c.json({ user: publicUser(user), prefs: prefsOf(c, user.id) }, 201);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/auth/login",
      tag: "auth",
      policy: "public",
      summary: "Log in; sets an HttpOnly session cookie and a CSRF cookie (send it back as X-CSRF-Token)",
      body: z.object({
        username: z.string().check(z.minLength(1), z.maxLength(64)),
        password: z.string().check(z.minLength(1), z.maxLength(256)),
      }),
      responses: {
        200: json(UserAnswer, "Logged in"),
        400: commonErrors[400],
        401: commonErrors[401],
        429: errorResponse("Too many failed attempts: wait (Retry-After) and try again"),
      },
    },
    async (c, { body }) => {
      // Who tried, whether or not it works out: the audit log keeps failed attempts by name.
      noteAudit(c, { user: { username: body.username } });
      const keys = attempt(c, body.username);
      const row = deps.users.byName(body.username);
      if (!(await verifyPassword(body.password, row?.password_hash)) || !row) {
        throw new ApiError(401, "bad_credentials", "wrong username or password");
      }
      deps.throttle.succeeded(keys);
      const user = publicUser(row);
      noteAudit(c, { user });
      startSession(c, row);
      return c.json({ user, prefs: prefsOf(c, user.id) });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/auth/logout",
      tag: "auth",
      policy: "self:read",
      summary: "End this session",
      responses: { 204: "Logged out", 401: commonErrors[401] },
    },
    (c) => {
      endSession(c);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/auth/me",
      tag: "auth",
      policy: "self:read",
      summary: "The caller, its teams, and how it authenticated",
      responses: { 200: json(Me, "The caller"), 401: commonErrors[401] },
    },
    (c) => {
      const caller = callerOf(c);
      return c.json({
        user: publicUser(caller.user),
        teams: deps.teams.teamsOf(caller.user.id),
        via: caller.via,
        prefs: prefsOf(c, caller.user.id),
      });
    },
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/auth/prefs",
      tag: "auth",
      policy: "self:write",
      summary: "Change the caller's own UI choices (the theme); no one else's",
      body: PrefsSchema,
      responses: {
        200: json(z.object({ prefs: PrefsSchema }), "Saved"),
        400: commonErrors[400],
        401: commonErrors[401],
      },
    },
    (c, { body }) => {
      const { user } = callerOf(c);
      noteAudit(c, { target: { theme: body.theme } });
      deps.users.setPrefs(user.id, body);
      return c.json({ prefs: prefsOf(c, user.id) });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/auth/password",
      tag: "auth",
      policy: "self:write",
      summary: "Change the caller's password; every other session of the caller ends",
      body: z.object({ current_password: z.string().check(z.maxLength(256)), new_password: Password }),
      responses: {
        204: "Changed",
        400: commonErrors[400],
        401: commonErrors[401],
        403: errorResponse("Wrong current password"),
        429: errorResponse("Too many failed attempts: wait (Retry-After) and try again"),
      },
    },
    async (c, { body }) => {
      const { user } = callerOf(c);
      // A stolen session must not become an unthrottled way to guess the password it lacks.
      const keys = attempt(c, user.username);
      if (!(await verifyPassword(body.current_password, deps.users.passwordHash(user.id)))) {
        throw new ApiError(403, "bad_credentials", "the current password is wrong");
      }
      deps.throttle.succeeded(keys);
      await deps.users.setPassword(user.id, body.new_password);
      deps.sessions.revokeAll(user.id, getCookie(c, SESSION_COOKIE));
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/tokens",
      tag: "auth",
      policy: "self:write",
      summary:
        "Create an API token for the caller (optionally read-only, expiring, limited to some environments); the token is shown only here",
      body: NewTokenBody,
      responses: {
        201: json(z.extend(TokenInfo, { token: z.string() }), "Token created"),
        400: commonErrors[400],
        401: commonErrors[401],
      },
    },
    (c, { body }) => {
      noteAudit(c, { target: { name: body.name } });
      const caller = callerOf(c);
      // A token never makes a token that reaches further than itself.
      const envs = body.envs ?? caller.token?.envs ?? null;
      if (!deps.policy.reaches(caller, envs))
        throw new ApiError(
          400,
          "invalid_request",
          "envs: this token cannot grant environments it does not reach",
        );
      const { token, info } = deps.tokens.create(caller.user.id, {
        name: body.name,
        scope: body.scope ?? "full",
        expires_at: body.expires_in_days ? Date.now() + body.expires_in_days * DAY_MS : null,
        envs,
      });
      noteAudit(c, { target: { id: info.id } });
      return c.json({ ...info, token }, 201);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/tokens",
      tag: "auth",
      policy: "self:read",
      summary: "The caller's API tokens (never their values), with their last use",
      responses: { 200: json(z.array(TokenInfo), "Tokens"), 401: commonErrors[401] },
    },
    (c) => {
      const caller = callerOf(c);
      // A token limited to some engines is not told of the others, nor of the tokens that reach them.
      return c.json(deps.tokens.list(caller.user.id).filter((t) => deps.policy.reaches(caller, t.envs)));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/tokens/{id}",
      tag: "auth",
      policy: "self:write",
      summary: "Revoke one of the caller's API tokens",
      params: z.object({ id: z.coerce.number().check(z.int(), z.positive()) }),
      responses: { 204: "Revoked", 401: commonErrors[401], 404: commonErrors[404] },
    },
    (c, { params }) => {
      const caller = callerOf(c);
      const target = deps.tokens.list(caller.user.id).find((t) => t.id === params.id);
      if (
        !target ||
        !deps.policy.reaches(caller, target.envs) ||
        !deps.tokens.revoke(caller.user.id, target.id)
      ) {
        throw new ApiError(404, "not_found", `no token ${params.id}`);
      }
      return c.body(null, 204);
    },
  );
}
