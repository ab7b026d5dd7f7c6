import { createRoute, z } from "@hono/zod-openapi";
import { EngineUrlError, parseEngineUrl } from "../../engine/url.ts";
import { type Environment, type Environments, viewOf } from "../../envs/environments.ts";
import { ApiError } from "../errors.ts";
import { newRouter } from "../router.ts";
import { commonErrors, EnvParam, jsonBody, jsonResponse } from "../schemas.ts";

export const EnvironmentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    status: z.enum(["connecting", "up", "down"]),
    url: z.string(),
    error: z.string().nullable(),
    facts: z.record(z.string(), z.unknown()).nullable(),
    capabilities: z.record(z.string(), z.boolean()).nullable(),
  })
  .openapi("Environment");

/** The environment a route names, or a 404 the caller can read. */
export function environmentOf(envs: Environments, id: string): Environment {
  const env = envs.get(id);
  if (!env) throw new ApiError(404, "not_found", `no environment "${id}"`);
  return env;
}

export function envRoutes(envs: Environments) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/envs",
      tags: ["environments"],
      summary: "Engines this panel manages, with their status",
      responses: { 200: jsonResponse(z.array(EnvironmentSchema), "Environments"), 401: commonErrors[401] },
    }),
    (c) => c.json(envs.list(), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/envs/{env}",
      tags: ["environments"],
      summary: "One environment",
      request: { params: EnvParam },
      responses: { 200: jsonResponse(EnvironmentSchema, "Environment"), ...commonErrors },
    }),
    (c) => c.json(viewOf(environmentOf(envs, c.req.valid("param").env)), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/envs",
      tags: ["environments"],
      summary: "Add an engine by URL (unix:// or tcp://)",
      request: jsonBody(
        z.object({
          name: z
            .string()
            .min(1)
            .max(64)
            .regex(
              /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
              "letters, digits, _ . - (starting with a letter or digit)",
            ),
          url: z.string().min(1).max(1024),
        }),
      ),
      responses: { 201: jsonResponse(EnvironmentSchema, "Added"), 409: commonErrors[400], ...commonErrors },
    }),
    (c) => {
      const { name, url } = c.req.valid("json");
      try {
        parseEngineUrl(url);
      } catch (err) {
        if (err instanceof EngineUrlError) throw new ApiError(400, "invalid_url", err.message);
        throw err;
      }
      if (envs.hasName(name)) throw new ApiError(409, "conflict", `an environment named "${name}" exists`);
      return c.json(viewOf(envs.add(name, url)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/envs/{env}",
      tags: ["environments"],
      summary: "Stop managing an engine (the engine itself is untouched)",
      request: { params: EnvParam },
      responses: { 204: { description: "Removed" }, ...commonErrors },
    }),
    (c) => {
      const { env } = c.req.valid("param");
      environmentOf(envs, env);
      if (!envs.remove(env))
        throw new ApiError(400, "bad_request", "the local environment cannot be removed");
      return c.body(null, 204);
    },
  );

  return app;
}
