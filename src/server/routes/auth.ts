import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { verifyPassword } from "../../auth/passwords.ts";
import { SESSION_COOKIE, SESSION_MAX_AGE_S, type SessionStore } from "../../auth/sessions.ts";
import type { TokenStore } from "../../auth/tokens.ts";
import { publicUser, type User, type UserStore } from "../../auth/users.ts";
import { ApiError } from "../errors.ts";
import { type AppEnv, newRouter } from "../router.ts";
import { Credentials, commonErrors, jsonBody, jsonResponse, UserSchema } from "../schemas.ts";

export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  secureCookies: boolean;
}

const UserAnswer = z.object({ user: UserSchema });
const TokenInfo = z
  .object({ id: z.number(), name: z.string(), created_at: z.number(), last_used_at: z.number().nullable() })
  .openapi("ApiToken");

export function authRoutes(deps: AuthDeps) {
  const app = newRouter();

  const startSession = (c: Context<AppEnv>, user: User) => {
    const { token } = deps.sessions.create(user.id);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      secure: deps.secureCookies,
      path: "/",
      maxAge: SESSION_MAX_AGE_S,
    });
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/setup",
      tags: ["auth"],
      summary: "Whether the first admin still has to be created",
      responses: { 200: jsonResponse(z.object({ needed: z.boolean() }), "Setup state") },
    }),
    (c) => c.json({ needed: deps.users.count() === 0 }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/setup",
      tags: ["auth"],
      summary: "Create the first admin (only while no user exists); logs in",
      request: jsonBody(Credentials),
      responses: {
        201: jsonResponse(UserAnswer, "Admin created"),
        400: commonErrors[400],
        409: jsonResponse(
          z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
          "Already set up",
        ),
      },
    }),
    async (c) => {
      const { username, password } = c.req.valid("json");
      const user = await deps.users.createFirstAdmin(username, password);
      if (!user) throw new ApiError(409, "already_set_up", "the panel is already set up; log in instead");
      startSession(c, user);
      return c.json({ user: publicUser(user) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/login",
      tags: ["auth"],
      summary: "Log in; sets an HttpOnly session cookie",
      request: jsonBody(
        z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
      ),
      responses: {
        200: jsonResponse(UserAnswer, "Logged in"),
        400: commonErrors[400],
        401: commonErrors[401],
      },
    }),
    async (c) => {
      const { username, password } = c.req.valid("json");
      const row = deps.users.byName(username);
      if (!(await verifyPassword(password, row?.password_hash)) || !row) {
        throw new ApiError(401, "bad_credentials", "wrong username or password");
      }
      startSession(c, row);
      return c.json({ user: publicUser(row) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/logout",
      tags: ["auth"],
      summary: "End this session",
      responses: { 204: { description: "Logged out" }, 401: commonErrors[401] },
    }),
    (c) => {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) deps.sessions.revoke(cookie);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/auth/me",
      tags: ["auth"],
      summary: "The caller",
      responses: { 200: jsonResponse(UserAnswer, "The caller"), 401: commonErrors[401] },
    }),
    (c) => c.json({ user: publicUser(c.get("user")) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/tokens",
      tags: ["auth"],
      summary: "Create an API token for the caller; the token is shown only here",
      request: jsonBody(z.object({ name: z.string().min(1).max(100) })),
      responses: {
        201: jsonResponse(TokenInfo.extend({ token: z.string() }), "Token created"),
        400: commonErrors[400],
        401: commonErrors[401],
      },
    }),
    (c) => {
      const { name } = c.req.valid("json");
      const { token, info } = deps.tokens.create(c.get("user").id, name);
      return c.json({ ...info, token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tokens",
      tags: ["auth"],
      summary: "The caller's API tokens (never their values)",
      responses: { 200: jsonResponse(z.array(TokenInfo), "Tokens"), 401: commonErrors[401] },
    }),
    (c) => c.json(deps.tokens.list(c.get("user").id), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/tokens/{id}",
      tags: ["auth"],
      summary: "Revoke one of the caller's API tokens",
      request: { params: z.object({ id: z.coerce.number().int().positive() }) },
      responses: { 204: { description: "Revoked" }, 401: commonErrors[401], 404: commonErrors[404] },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      if (!deps.tokens.revoke(c.get("user").id, id)) throw new ApiError(404, "not_found", `no token ${id}`);
      return c.body(null, 204);
    },
  );

  return app;
}
