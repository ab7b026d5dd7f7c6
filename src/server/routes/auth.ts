import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod/mini";
import { verifyPassword } from "../../auth/passwords.ts";
import { SESSION_COOKIE, SESSION_MAX_AGE_S, type SessionStore } from "../../auth/sessions.ts";
import type { TokenStore } from "../../auth/tokens.ts";
import { publicUser, type User, type UserStore } from "../../auth/users.ts";
import { ApiError } from "../errors.ts";
import type { AppContext, RouteTable } from "../route-table.ts";
import { Credentials, commonErrors, errorResponse, json, UserSchema } from "../schemas.ts";

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  secureCookies: boolean;
}

const UserAnswer = z.object({ user: UserSchema });
const TokenInfo = z.object({
  id: z.number(),
  name: z.string(),
  created_at: z.number(),
  last_used_at: z.nullable(z.number()),
});

export function authRoutes(routes: RouteTable, deps: AuthDeps): void {
  const startSession = (c: AppContext, user: User) => {
    const { token } = deps.sessions.create(user.id);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      secure: deps.secureCookies,
      path: "/",
      maxAge: SESSION_MAX_AGE_S,
    });
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/setup",
      tag: "auth",
      summary: "Whether the first admin still has to be created",
      public: true,
      responses: { 200: json(z.object({ needed: z.boolean() }), "Setup state") },
    },
    (c) => c.json({ needed: deps.users.count() === 0 }),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/setup",
      tag: "auth",
      summary: "Create the first admin (only while no user exists); logs in",
      public: true,
      body: Credentials,
      responses: {
        201: json(UserAnswer, "Admin created"),
        400: commonErrors[400],
        409: errorResponse("Already set up"),
      },
    },
    async (c, { body }) => {
      const user = await deps.users.createFirstAdmin(body.username, body.password);
      if (!user) throw new ApiError(409, "already_set_up", "the panel is already set up; log in instead");
      startSession(c, user);
      return c.json({ user: publicUser(user) }, 201);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/auth/login",
      tag: "auth",
      summary: "Log in; sets an HttpOnly session cookie",
      public: true,
      body: z.object({
        username: z.string().check(z.minLength(1), z.maxLength(64)),
        password: z.string().check(z.minLength(1), z.maxLength(256)),
      }),
      responses: { 200: json(UserAnswer, "Logged in"), 400: commonErrors[400], 401: commonErrors[401] },
    },
    async (c, { body }) => {
      const row = deps.users.byName(body.username);
      if (!(await verifyPassword(body.password, row?.password_hash)) || !row) {
        throw new ApiError(401, "bad_credentials", "wrong username or password");
      }
      startSession(c, row);
      return c.json({ user: publicUser(row) });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/auth/logout",
      tag: "auth",
      summary: "End this session",
      responses: { 204: "Logged out", 401: commonErrors[401] },
    },
    (c) => {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) deps.sessions.revoke(cookie);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/auth/me",
      tag: "auth",
      summary: "The caller",
      responses: { 200: json(UserAnswer, "The caller"), 401: commonErrors[401] },
    },
    (c) => c.json({ user: publicUser(c.get("user")) }),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/tokens",
      tag: "auth",
      summary: "Create an API token for the caller; the token is shown only here",
      body: z.object({ name: z.string().check(z.minLength(1), z.maxLength(100)) }),
      responses: {
        201: json(z.extend(TokenInfo, { token: z.string() }), "Token created"),
        400: commonErrors[400],
        401: commonErrors[401],
      },
    },
    (c, { body }) => {
      const { token, info } = deps.tokens.create(c.get("user").id, body.name);
      return c.json({ ...info, token }, 201);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/tokens",
      tag: "auth",
      summary: "The caller's API tokens (never their values)",
      responses: { 200: json(z.array(TokenInfo), "Tokens"), 401: commonErrors[401] },
    },
    (c) => c.json(deps.tokens.list(c.get("user").id)),
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/tokens/{id}",
      tag: "auth",
      summary: "Revoke one of the caller's API tokens",
      params: z.object({ id: z.coerce.number().check(z.int(), z.positive()) }),
      responses: { 204: "Revoked", 401: commonErrors[401], 404: commonErrors[404] },
    },
    (c, { params }) => {
      if (!deps.tokens.revoke(c.get("user").id, params.id)) {
        throw new ApiError(404, "not_found", `no token ${params.id}`);
      }
      return c.body(null, 204);
    },
  );
}
