import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { checkTlsMaterial, TlsMaterialError } from "../engine/tls-material.ts";
import { EngineUrlError, parseEngineUrl } from "../engine/url.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json } from "../http/schemas.ts";
import { type Environments, viewOf } from "./environments.ts";
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
});

export function envRoutes(
  routes: RouteTable,
  { envs, policy }: { envs: Environments; policy: Policy },
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
      body: z.object({
        name: z
          .string()
          .check(
            z.minLength(1),
            z.maxLength(64),
            z.regex(
              /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
              "letters, digits, _ . - (starting with a letter or digit)",
            ),
          ),
        url: z.string().check(z.minLength(1), z.maxLength(1024)),
        tls: z.optional(
          z.object({
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
          }),
        ),
      }),
      responses: { 201: json(EnvironmentSchema, "Added"), 409: errorResponse("Name taken"), ...commonErrors },
    },
    (c, { body }) => {
      noteAudit(c, { target: { name: body.name } });
      let secure: boolean;
      try {
        secure = parseEngineUrl(body.url, body.tls).protocol === "https";
      } catch (err) {
        if (err instanceof EngineUrlError) throw new ApiError(400, "invalid_url", err.message);
        throw err;
      }
      if (body.tls) {
        if (!secure)
          throw new ApiError(
            400,
            "invalid_tls",
            "tls: client certificates need a tcp:// or https:// engine URL",
          );
        try {
          checkTlsMaterial(body.tls);
        } catch (err) {
          if (err instanceof TlsMaterialError) throw new ApiError(400, "invalid_tls", err.message);
          throw err;
        }
      }
      if (envs.hasName(body.name))
        throw new ApiError(409, "conflict", `an environment named "${body.name}" exists`);
      return c.json(viewOf(envs.add(body.name, body.url, body.tls)), 201);
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
      return c.body(null, 204);
    },
  );
}
