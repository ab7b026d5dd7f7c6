import { createRoute, z } from "@hono/zod-openapi";
import type { Environments } from "../../envs/environments.ts";
import { newRouter } from "../router.ts";
import { jsonResponse } from "../schemas.ts";

export function healthRoutes(envs: Environments, version: string) {
  const app = newRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["health"],
      summary: "Liveness, with each engine's reachability (no auth)",
      responses: {
        200: jsonResponse(
          z.object({
            status: z.literal("ok"),
            version: z.string(),
            engines: z.array(z.object({ id: z.string(), status: z.string(), error: z.string().nullable() })),
          }),
          "The panel is up; engines may not be",
        ),
      },
    }),
    (c) =>
      c.json(
        {
          status: "ok" as const,
          version,
          engines: envs.list().map((e) => ({ id: e.id, status: e.status, error: e.error })),
        },
        200,
      ),
  );
  return app;
}
