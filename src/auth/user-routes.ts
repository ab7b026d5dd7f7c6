import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json, Password, Username, UserSchema } from "../http/schemas.ts";
import type { SessionStore } from "./sessions.ts";
import type { TeamStore } from "./teams.ts";
import { publicUser, ROLES, type UserStore } from "./users.ts";

export interface UserRouteDeps {
  users: UserStore;
  sessions: SessionStore;
  teams: TeamStore;
}

const UserWithTeams = z.extend(UserSchema, { teams: z.array(z.string()) });
const IdParam = z.object({ id: z.coerce.number().check(z.int(), z.positive()) });
const LAST_ADMIN = "the panel needs at least one admin: make another user admin first";

/** Users, by admins: who may log in and with what role. */
export function userRoutes(routes: RouteTable, deps: UserRouteDeps): void {
  const withTeams = (u: Parameters<typeof publicUser>[0]) => ({
    ...publicUser(u),
    teams: deps.teams.teamsOf(u.id),
  });
  const userOf = (id: number) => {
    const user = deps.users.get(id);
    if (!user) throw new ApiError(404, "not_found", `no user ${id}`);
    return user;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/users",
      tag: "users",
      policy: "users:manage",
      summary: "Every user, with their teams",
      responses: { 200: json(z.array(UserWithTeams), "Users"), 401: commonErrors[401] },
    },
    (c) => c.json(deps.users.list().map(withTeams)),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/users",
      tag: "users",
      policy: "users:manage",
      summary: "Create a user with a role: admin, operator (acts on resources) or viewer (reads)",
      body: z.object({ username: Username, password: Password, role: z.enum(ROLES) }),
      responses: { 201: json(UserWithTeams, "Created"), 409: errorResponse("Name taken"), ...commonErrors },
    },
    async (c, { body }) => {
      noteAudit(c, { target: { username: body.username, role: body.role } });
      const user = await deps.users.create(body.username, body.password, body.role);
      if (!user) throw new ApiError(409, "conflict", `a user named "${body.username}" exists`);
      return c.json(withTeams(user), 201);
    },
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/users/{id}",
      tag: "users",
      policy: "users:manage",
      summary: "Change a user's role or set a new password (which ends the user's sessions)",
      params: IdParam,
      body: z.object({ role: z.optional(z.enum(ROLES)), password: z.optional(Password) }),
      responses: { 200: json(UserWithTeams, "Changed"), 409: errorResponse("Last admin"), ...commonErrors },
    },
    async (c, { params, body }) => {
      const user = userOf(params.id);
      noteAudit(c, {
        target: {
          username: user.username,
          ...(body.role ? { role: body.role } : {}),
          ...(body.password ? { password: "reset" } : {}),
        },
      });
      if (body.role && body.role !== user.role) {
        if (!deps.users.setRole(user.id, body.role)) throw new ApiError(409, "last_admin", LAST_ADMIN);
        // Open sessions were granted under the old role: the user logs in again.
        deps.sessions.revokeAll(user.id);
        deps.teams.forget(user.id);
      }
      if (body.password) {
        await deps.users.setPassword(user.id, body.password);
        deps.sessions.revokeAll(user.id);
      }
      return c.json(withTeams(userOf(user.id)));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/users/{id}",
      tag: "users",
      policy: "users:manage",
      summary: "Remove a user, their sessions and their API tokens",
      params: IdParam,
      responses: { 204: "Removed", 409: errorResponse("Last admin"), ...commonErrors },
    },
    (c, { params }) => {
      noteAudit(c, { target: { username: userOf(params.id).username } });
      if (!deps.users.remove(params.id)) throw new ApiError(409, "last_admin", LAST_ADMIN);
      deps.teams.forget(params.id);
      return c.body(null, 204);
    },
  );
}
