import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import { allowEngineWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json, queryFlag } from "../http/schemas.ts";
import { DF_MAX_AGE_MS, diskUsageOf, readDf } from "./disk-usage.ts";
import { eventLogOf, matchesFilter } from "./events.ts";
import { PRUNE_TIMEOUT_MS, type PruneOptions, previewSystemPrune, pruneSystem } from "./prune.ts";
import { PruneQuery, pruneFilters } from "./prune-filters.ts";

const Kind = z.object({ count: z.number(), active: z.number(), size: z.number(), reclaimable: z.number() });
const DiskUsageSchema = z.object({
  images: Kind,
  containers: Kind,
  volumes: Kind,
  build_cache: Kind,
  read_at: z.number(),
});
const PruneReportSchema = z.object({
  containers: z.array(z.object({ id: z.string(), name: z.string(), size: z.number() })),
  images: z.array(z.object({ id: z.string(), tags: z.array(z.string()), size: z.number() })),
  networks: z.array(z.object({ id: z.string(), name: z.string() })),
  volumes: z.array(z.object({ name: z.string(), size: z.number() })),
  build_cache: z.array(z.object({ id: z.string(), size: z.number() })),
  space: z.number(),
  skipped: z.array(z.string()),
});
const EventSchema = z.object({
  type: z.string(),
  action: z.string(),
  id: z.string(),
  name: z.nullable(z.string()),
  container: z.nullable(z.string()),
  container_name: z.nullable(z.string()),
  time_nano: z.number(),
  attributes: z.record(z.string(), z.string()),
});

const SystemPruneQuery = z.extend(PruneQuery, { all: queryFlag, volumes: queryFlag });
const optionsOf = (q: { all: boolean; volumes: boolean }): PruneOptions => ({
  allImages: q.all,
  volumes: q.volumes,
});

export function systemRoutes(
  routes: RouteTable,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/system/info",
      tag: "system",
      policy: "host:read",
      summary: "The engine's /info and /version, as it gives them",
      params: EnvParam,
      responses: {
        200: json(
          z.object({ info: z.record(z.string(), z.unknown()), version: z.record(z.string(), z.unknown()) }),
          "Info",
        ),
        ...commonErrors,
      },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const [info, version] = await Promise.all([
        env.engine.get<Record<string, unknown>>("/info"),
        env.engine.get<Record<string, unknown>>("/version"),
      ]);
      return c.json({ info, version });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/system/df",
      tag: "system",
      policy: "host:read",
      summary:
        "Disk use per kind, as `docker system df` counts it; the engine is asked at most every 15 s (?fresh=1: every second), read_at says when",
      params: EnvParam,
      query: z.object({ fresh: queryFlag }),
      responses: { 200: json(DiskUsageSchema, "Disk use"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      const { df, at } = await readDf(env, query.fresh ? 1000 : DF_MAX_AGE_MS);
      return c.json(diskUsageOf(df, at));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/events",
      tag: "system",
      policy: "events:read",
      summary:
        "The engine's latest events the caller may see (the panel keeps 500), filtered by ?type=, ?action=, ?container= (id prefix or name)",
      params: EnvParam,
      query: z.object({
        type: z.optional(z.string().check(z.maxLength(64))),
        action: z.optional(z.string().check(z.maxLength(64))),
        container: z.optional(z.string().check(z.maxLength(256))),
      }),
      responses: { 200: json(z.array(EventSchema), "Events, oldest first"), ...commonErrors },
    },
    (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const audience = policy.audience(callerOf(c), env.id);
      return c.json(
        eventLogOf(env)
          .recent()
          .filter((e) => e.visible(audience) && matchesFilter(e.item, query))
          .map((e) => e.item),
      );
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/system/prune",
      tag: "system",
      policy: "system:prune",
      summary:
        "What a prune of everything unused would remove, and about how much it frees (?label=, ?until= narrow it; ?all=1 every unused image; ?volumes=1 unused volumes)",
      params: EnvParam,
      query: SystemPruneQuery,
      responses: { 200: json(PruneReportSchema, "Preview"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const filters = pruneFilters(query);
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      return c.json(await previewSystemPrune(env, filters, optionsOf(query)));
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/system/prune",
      tag: "system",
      policy: "system:prune",
      summary:
        "Prune everything unused (the same query as the preview): stopped containers, networks, images, build cache",
      params: EnvParam,
      query: SystemPruneQuery,
      responses: {
        200: json(PruneReportSchema, "What was removed, and the space the engine freed"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const filters = pruneFilters(query);
      noteAudit(c, {
        target: { filters: JSON.stringify(filters), all: String(query.all), volumes: String(query.volumes) },
      });
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      return c.json(await pruneSystem(env, filters, optionsOf(query)));
    },
  );
}
