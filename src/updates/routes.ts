import * as z from "zod/mini";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import { allowSlowRequest } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json } from "../http/schemas.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import type { UpdateChecker } from "./checker.ts";
import { MIN_INTERVAL_SECONDS, readUpdateSettings, writeUpdateSettings } from "./settings.ts";
import { updateWire } from "./topic.ts";

const UpdateSchema = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  status: z.enum(["current", "available", "unknown", "error"]),
  local_digest: z.nullable(z.string()),
  remote_digest: z.nullable(z.string()),
  checked_at: z.nullable(z.number()),
  error: z.nullable(z.string()),
});

const SettingsSchema = z.object({
  interval_seconds: z.int().check(
    z.minimum(0),
    z.maximum(7 * 24 * 3600),
    z.refine(
      (n) => n === 0 || n >= MIN_INTERVAL_SECONDS,
      `0 (only on demand) or at least ${MIN_INTERVAL_SECONDS} seconds`,
    ),
  ),
});

/** Image update detection: the results, a check on demand, and how often the schedule runs. */
export function updateRoutes(
  routes: RouteTable,
  {
    envs,
    policy,
    updates,
    settings,
  }: { envs: Environments; policy: Policy; updates: UpdateChecker; settings: SettingsStore },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/updates",
      tag: "updates",
      policy: "containers:read",
      summary: "Whether each container's image has a newer one at its registry (the last check's answer)",
      params: EnvParam,
      responses: { 200: json(z.array(UpdateSchema), "Results"), ...commonErrors },
    },
    (c, { params }) => {
      const env = envFor(envs, params.env);
      const audience = policy.audience(callerOf(c), env.id);
      return c.json(
        updates
          .list(env.id)
          .filter((u) => audience.sees(u))
          .map(updateWire),
      );
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/updates/check",
      tag: "updates",
      policy: "containers:operate",
      summary:
        "Check now (the caller's containers, or ?container=): a registry is asked again only if its last answer is a few seconds old",
      params: EnvParam,
      query: z.object({ container: z.optional(z.string().check(z.maxLength(257))) }),
      responses: { 200: json(z.array(UpdateSchema), "Results"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      const audience = policy.audience(caller, env.id);
      let only: Set<string> | undefined;
      if (query.container !== undefined) {
        const ref = ownedRef(policy, caller, env, query.container, "containers:read");
        const found = env.containers.find(ref);
        only = new Set(found ? [found.id] : []);
      } else if (audience.key !== "*") {
        only = new Set(
          env.containers
            .list()
            .filter((ct) => audience.sees(ct))
            .map((ct) => ct.id),
        );
      }
      // Every registry call is bounded (src/registries/client.ts), but a check waits on as many as
      // there are tags in use, four at a time: past the server's 10 s idle cut, with no count to
      // bound it by here. The calls' own limits end it.
      allowSlowRequest(c, 0);
      const results = await updates.check(env, { onDemand: true, only });
      return c.json(results.filter((u) => audience.sees(u)).map(updateWire));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/settings/updates",
      tag: "settings",
      policy: "settings:manage",
      summary: "How often images in use are checked for updates (seconds; 0: only on demand)",
      responses: { 200: json(SettingsSchema, "Settings"), 401: commonErrors[401] },
    },
    (c) => c.json(readUpdateSettings(settings)),
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/settings/updates",
      tag: "settings",
      policy: "settings:manage",
      summary: "Change how often images in use are checked for updates",
      body: SettingsSchema,
      responses: { 200: json(SettingsSchema, "Saved"), 400: commonErrors[400], 401: commonErrors[401] },
    },
    (c, { body }) => {
      writeUpdateSettings(settings, body);
      updates.schedule();
      return c.json(readUpdateSettings(settings));
    },
  );
}
