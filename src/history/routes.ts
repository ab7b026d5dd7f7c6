import * as z from "zod/mini";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json } from "../http/schemas.ts";
import type { DeployHistory } from "./deploy-history.ts";

const Name = z.string().check(z.minLength(1), z.maxLength(256));
const DeploymentSchema = z.object({
  id: z.number(),
  at: z.number(),
  env: z.string(),
  name: z.string(),
  app: z.nullable(z.string()),
  container_id: z.string(),
  old_container_id: z.string(),
  old_image: z.string(),
  old_image_id: z.string(),
  new_image: z.string(),
  new_image_id: z.string(),
  labels: z.record(z.string(), z.string()),
  user_id: z.nullable(z.number()),
  username: z.string(),
});

export function historyRoutes(
  routes: RouteTable,
  { envs, policy, deployments }: { envs: Environments; policy: Policy; deployments: DeployHistory },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/deployments",
      tag: "history",
      policy: "containers:read",
      summary:
        "Deployment history, newest first: each time a container name (?name=) or a Vesla app (?app=) came back running another image or image digest; who did it when it went through the panel",
      params: EnvParam,
      query: z.object({
        name: z.optional(Name),
        app: z.optional(Name),
        limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
      }),
      responses: { 200: json(z.array(DeploymentSchema), "Deployments"), ...commonErrors },
    },
    (c, { params, query }) => {
      const env = envFor(envs, params.env);
      if ((query.name === undefined) === (query.app === undefined)) {
        throw new ApiError(400, "invalid_request", "give one of name= (a container) or app= (a Vesla app)");
      }
      const audience = policy.audience(callerOf(c), env.id);
      // Each entry as the container it names was then: what a caller may not see is not listed.
      const list = deployments
        .query(env.id, { name: query.name, app: query.app }, query.limit)
        .filter((d) => audience.sees({ name: d.name, labels: d.labels }));
      return c.json(list);
    },
  );
}
