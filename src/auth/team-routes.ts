import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import type { Environments } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import type { TeamStore } from "./teams.ts";
import type { UserStore } from "./users.ts";

const Resource = z.object({
  env: z.string().check(z.minLength(1), z.maxLength(64)),
  kind: z.enum(["env", "container", "app"]),
  ref: z._default(z.string().check(z.maxLength(256)), ""),
  role: z.optional(
    z
      .enum(["operator", "viewer"])
      .check(
        z.describe(
          "kind \"env\" only: the members' role on that whole engine, whatever their role elsewhere (absent: each member's own role)",
        ),
      ),
  ),
});
const TeamSchema = z.object({
  id: z.number(),
  name: z.string(),
  created_at: z.number(),
  members: z.array(z.number()),
  resources: z.array(Resource),
});
const TeamName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, _ . - only"),
  );
const IdParam = z.object({ id: z.coerce.number().check(z.int(), z.positive()) });

/**
 * Teams, by admins. A team owns the containers labelled `ghostpanel.team=<name>` on every engine,
 * plus what is assigned to it here: whole engines, containers by name, or Vesla apps by name.
 */
export function teamRoutes(
  routes: RouteTable,
  { teams, users, envs }: { teams: TeamStore; users: UserStore; envs: Environments },
): void {
  const teamOf = (id: number) => {
    const team = teams.get(id);
    if (!team) throw new ApiError(404, "not_found", `no team ${id}`);
    return team;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/teams",
      tag: "teams",
      policy: "teams:manage",
      summary: "Every team, its members (user ids) and what is assigned to it",
      responses: { 200: json(z.array(TeamSchema), "Teams"), 401: commonErrors[401] },
    },
    (c) => c.json(teams.list()),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/teams",
      tag: "teams",
      policy: "teams:manage",
      summary: "Create a team",
      body: z.object({ name: TeamName }),
      responses: { 201: json(TeamSchema, "Created"), 409: errorResponse("Name taken"), ...commonErrors },
    },
    (c, { body }) => {
      noteAudit(c, { target: { team: body.name } });
      const team = teams.create(body.name);
      if (!team) throw new ApiError(409, "conflict", `a team named "${body.name}" exists`);
      return c.json(team, 201);
    },
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/teams/{id}",
      tag: "teams",
      policy: "teams:manage",
      summary: "Set a team's members and assigned resources (each list, when given, replaces the old one)",
      params: IdParam,
      body: z.object({
        members: z.optional(z.array(z.number().check(z.int(), z.positive())).check(z.maxLength(10_000))),
        resources: z.optional(z.array(Resource).check(z.maxLength(10_000))),
      }),
      responses: { 200: json(TeamSchema, "Changed"), ...commonErrors },
    },
    (c, { params, body }) => {
      noteAudit(c, { target: { team: teamOf(params.id).name } });
      const unknownUser = body.members?.find((id) => !users.get(id));
      if (unknownUser !== undefined)
        throw new ApiError(400, "invalid_request", `members: no user ${unknownUser}`);
      const unknownEnv = body.resources?.find((r) => !envs.get(r.env));
      if (unknownEnv)
        throw new ApiError(400, "invalid_request", `resources: no environment "${unknownEnv.env}"`);
      const misplaced = body.resources?.find((r) => r.kind !== "env" && r.role !== undefined);
      if (misplaced)
        throw new ApiError(
          400,
          "invalid_request",
          "resources: a role is given with a whole environment only",
        );
      const nameless = body.resources?.find((r) => r.kind !== "env" && !r.ref);
      if (nameless)
        throw new ApiError(400, "invalid_request", `resources: a ${nameless.kind} needs its name in ref`);
      teams.update(params.id, body);
      return c.json(teamOf(params.id));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/teams/{id}",
      tag: "teams",
      policy: "teams:manage",
      summary: "Remove a team (its containers stay; their label no longer gives anyone access)",
      params: IdParam,
      responses: { 204: "Removed", ...commonErrors },
    },
    (c, { params }) => {
      noteAudit(c, { target: { team: teamOf(params.id).name } });
      teams.remove(params.id);
      return c.body(null, 204);
    },
  );
}
