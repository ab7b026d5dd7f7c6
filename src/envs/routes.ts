import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { TeamStore } from "../auth/teams.ts";
import { checkTlsMaterial, TlsMaterialError } from "../engine/tls-material.ts";
import { EngineUrlError, parseEngineUrl, type TlsMaterial } from "../engine/url.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json } from "../http/schemas.ts";
import { ENV_TAG, type Environments, LOCAL_ENV, viewOf } from "./environments.ts";
import { envFor, envViews } from "./resolve.ts";

export const EnvironmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  status: z.enum(["connecting", "up", "down"]),
  url: z.string(),
  tls: z
    .boolean()
    .check(z.describe("whether it connects with a TLS client certificate (which the API never returns)")),
  error: z.nullable(z.string()),
  facts: z.nullable(z.record(z.string(), z.unknown())),
  capabilities: z.nullable(z.record(z.string(), z.boolean())),
  tags: z.array(z.string()),
  last_seen: z.nullable(
    z.number().check(z.describe("when the engine last answered, Unix ms (now while it is up); null: never")),
  ),
  role: z.optional(
    z
      .enum(["admin", "operator", "viewer"])
      .check(z.describe("the caller's role there: a team given the whole environment sets it")),
  ),
});

const EnvName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, _ . - (starting with a letter or digit)"),
  );
const EnvUrl = z.string().check(z.minLength(1), z.maxLength(1024));
const Tags = z
  .array(
    z
      .string()
      .check(z.regex(ENV_TAG, "a tag is 1 to 32 letters, digits, _ . : - (starting with a letter or digit)")),
  )
  .check(
    z.maxLength(16),
    z.refine((tags) => new Set(tags).size === tags.length, "each tag once"),
    z.describe("labels to find and group engines by (at most 16)"),
  );
const TlsBody = z.object({
  ca: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.describe("PEM: the CA the engine's certificate must chain to (default: the system's)"),
      ),
  ),
  cert: z.string().check(z.minLength(1), z.describe("PEM: the client certificate, then its chain")),
  key: z.string().check(z.minLength(1), z.describe("PEM: the client's private key, unencrypted")),
});

/** Refuses (400) an engine address this panel cannot use, or TLS material that does not fit it. */
function checkAddress(url: string, tls: TlsMaterial | undefined): void {
  let secure: boolean;
  try {
    secure = parseEngineUrl(url, tls).protocol === "https";
  } catch (err) {
    if (err instanceof EngineUrlError) throw new ApiError(400, "invalid_url", err.message);
    throw err;
  }
  if (!tls) return;
  if (!secure)
    throw new ApiError(400, "invalid_tls", "tls: client certificates need a tcp:// or https:// engine URL");
  try {
    checkTlsMaterial(tls);
  } catch (err) {
    if (err instanceof TlsMaterialError) throw new ApiError(400, "invalid_tls", err.message);
    throw err;
  }
}

export function envRoutes(
  routes: RouteTable,
  { envs, policy, teams }: { envs: Environments; policy: Policy; teams: TeamStore },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs",
      tag: "environments",
      policy: "envs:read",
      summary:
        "Engines this panel manages, with their status (for a token limited to some: those); `url` only for callers who manage engines",
      responses: { 200: json(z.array(EnvironmentSchema), "Environments"), 401: commonErrors[401] },
    },
    (c) => {
      return c.json(envViews(envs, policy, callerOf(c)));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}",
      tag: "environments",
      policy: "envs:read",
      summary: "One environment",
      params: EnvParam,
      responses: { 200: json(EnvironmentSchema, "Environment"), ...commonErrors },
    },
    (c, { params }) => c.json(envViews(envs, policy, callerOf(c), envFor(envs, params.env))[0]),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs",
      tag: "environments",
      policy: "envs:manage",
      summary:
        "Add an engine by URL (unix://, tcp://, https://), with a TLS client certificate if it needs one (stored encrypted, never returned)",
      body: z.object({ name: EnvName, url: EnvUrl, tls: z.optional(TlsBody), tags: z.optional(Tags) }),
      responses: { 201: json(EnvironmentSchema, "Added"), 409: errorResponse("Name taken"), ...commonErrors },
    },
    (c, { body }) => {
      noteAudit(c, { target: { name: body.name } });
      checkAddress(body.url, body.tls);
      if (envs.hasName(body.name))
        throw new ApiError(409, "conflict", `an environment named "${body.name}" exists`);
      const env = envs.add(body.name, body.url, body.tls, body.tags);
      return c.json({ ...viewOf(env), role: policy.roleOn(callerOf(c), env.id) }, 201);
    },
  );

  routes.add(
    {
      method: "patch",
      path: "/api/v1/envs/{env}",
      tag: "environments",
      policy: "envs:manage",
      summary:
        "Rename, tag, or point at another address or TLS client certificate (`tls`: new material, stored encrypted and never returned; null: none). The id stays; the local engine's address is the command line's",
      params: EnvParam,
      body: z.strictObject({
        name: z.optional(EnvName),
        tags: z.optional(Tags),
        url: z.optional(EnvUrl),
        tls: z.optional(z.nullable(TlsBody)),
      }),
      responses: {
        200: json(EnvironmentSchema, "Changed"),
        409: errorResponse("Name taken"),
        ...commonErrors,
      },
    },
    (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const fields = Object.keys(body);
      // Which fields changed, never their values: TLS keys stay out of the log, and so do addresses.
      noteAudit(c, {
        target: { changed: fields.join(",") || "nothing", ...(body.name && { name: body.name }) },
      });
      if (fields.length === 0) throw new ApiError(400, "invalid_request", "body: nothing to change");
      const readdress = body.url !== undefined || body.tls !== undefined;
      if (readdress && env.id === LOCAL_ENV)
        throw new ApiError(
          400,
          "invalid_request",
          "the local environment's address is the one given on the command line (--engine)",
        );
      const url = body.url ?? env.url;
      const tls = body.tls === undefined ? envs.tlsOf(env.id) : (body.tls ?? undefined);
      if (readdress) checkAddress(url, tls);
      if (body.name !== undefined && envs.hasName(body.name, env.id))
        throw new ApiError(409, "conflict", `an environment named "${body.name}" exists`);
      const named = envs.update(env.id, { name: body.name, tags: body.tags }) ?? env;
      const changed = readdress ? (envs.reconnect(env.id, url, body.tls) ?? named) : named;
      return c.json({ ...viewOf(changed), role: policy.roleOn(callerOf(c), changed.id) });
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/envs/{env}",
      tag: "environments",
      policy: "envs:manage",
      summary: "Stop managing an engine (the engine itself is untouched)",
      params: EnvParam,
      responses: { 204: "Removed", ...commonErrors },
    },
    (c, { params }) => {
      envFor(envs, params.env);
      if (!envs.remove(params.env))
        throw new ApiError(400, "bad_request", "the local environment cannot be removed");
      teams.forgetEnv(params.env);
      return c.body(null, 204);
    },
  );
}
