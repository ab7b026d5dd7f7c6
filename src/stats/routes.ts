import * as z from "zod/mini";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json } from "../http/schemas.ts";
import { HISTORY_FIELDS, HISTORY_RANGES, type HistoryRange } from "../protocol/history.ts";
import type { StatsCollectors } from "./collectors.ts";
import { emptyAnswer } from "./history.ts";
import { visibleFigures } from "./visible.ts";

const StatsSchema = z.object({
  id: z.string(),
  name: z.string(),
  cpu_percent: z.number(),
  mem_usage: z.number(),
  mem_limit: z.number(),
  net_rx: z.number(),
  net_tx: z.number(),
  blk_read: z.number(),
  blk_write: z.number(),
  pids: z.number(),
});

/** How long an answer may wait for figures, and how long the collector then keeps running. */
const FIRST_FIGURES_MS = 5_000;
const LINGER_MS = 30_000;

export function statsRoutes(
  routes: RouteTable,
  { envs, collectors, policy }: { envs: Environments; collectors: StatsCollectors; policy: Policy },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/stats",
      tag: "stats",
      policy: "containers:read",
      summary:
        "Newest figures per running container (cpu_percent as `docker stats` shows it; bytes and cumulative counters as the engine reports them). The X-Stats-Source header says where they come from: cgroup or docker.",
      params: EnvParam,
      responses: { 200: json(z.array(StatsSchema), "Figures"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const collector = collectors.get(env.id);
      if (!collector) throw new ApiError(400, "unsupported", `engine "${env.name}" serves no stats`);
      const figures = await collector.current(FIRST_FIGURES_MS, LINGER_MS);
      c.header("X-Stats-Source", collector.sourceName ?? "none");
      return c.json(visibleFigures(env, policy.audience(callerOf(c), env.id), figures));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/stats/history",
      tag: "stats",
      policy: "containers:read",
      summary:
        "A container's (or, with id=host, the host's) figures over time: 15m at full rate, up to 6h in 10 s steps, up to 30d in 1 min steps (wider when needed to stay under 2,000 points)",
      params: EnvParam,
      query: z.object({
        id: z.string().check(z.minLength(1), z.maxLength(256)),
        range: z._default(z.enum(Object.keys(HISTORY_RANGES) as [HistoryRange, ...HistoryRange[]]), "15m"),
      }),
      responses: {
        200: json(
          z.object({
            id: z.string(),
            range: z.string(),
            step_ms: z.number(),
            t: z.array(z.number()),
            series: z.object(
              Object.fromEntries(HISTORY_FIELDS.map((f) => [f, z.array(z.nullable(z.number()))])),
            ),
          }),
          "Series aligned with t (unix seconds); null where there was no figure",
        ),
        ...commonErrors,
      },
    },
    (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const history = collectors.history(env.id);
      if (!history) throw new ApiError(400, "unsupported", `engine "${env.name}" serves no stats`);
      if (query.id === "host" && !policy.can(callerOf(c), "host:read", { env: env.id })) {
        throw new ApiError(403, "forbidden", `your teams do not own environment "${env.id}"`);
      }
      // Full ids in the history; a name or an id prefix is resolved while the container exists
      // (and, for those who see only their teams' containers, only while it exists).
      const owned =
        query.id === "host" ? query.id : ownedRef(policy, callerOf(c), env, query.id, "containers:read");
      const container = query.id === "host" ? undefined : env.containers.find(owned);
      const ref = query.id === "host" ? "host" : (container?.id ?? owned);
      const answer = history.query(ref, query.range);
      if (answer) return c.json(answer);
      // Known but nothing recorded yet (just started, or the range's first bucket is still open).
      if (container || (ref === "host" && collectors.hasHost(env.id))) {
        return c.json(emptyAnswer(ref, query.range, 0));
      }
      throw new ApiError(404, "not_found", `no container "${query.id}" and no figures recorded for it`);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/host",
      tag: "stats",
      policy: "host:read",
      summary: "The newest figures of the machine the engine runs on (local engines only)",
      params: EnvParam,
      responses: { 200: json(z.record(z.string(), z.unknown()), "Host figures"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const collector = collectors.get(env.id);
      if (!collector || !collectors.hasHost(env.id)) {
        throw new ApiError(
          400,
          "unsupported",
          `engine "${env.name}" is not on this machine: no host figures`,
        );
      }
      // Two ticks: a CPU % and rates need a previous reading.
      if (!collectors.lastHost(env.id)) await collector.current(FIRST_FIGURES_MS, LINGER_MS);
      return c.json(collectors.lastHost(env.id) ?? {});
    },
  );
}
