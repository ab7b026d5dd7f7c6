import * as z from "zod/mini";
import { callerOf } from "../auth/middleware.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, json } from "../http/schemas.ts";
import type { EnvironmentSummary } from "../protocol/views.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import { visibleFigures } from "../stats/visible.ts";
import type { Environment, Environments } from "./environments.ts";
import { envViews } from "./resolve.ts";

/** How long the home page's first answer waits for a collector's first figures (a CPU % needs two ticks). */
const FIRST_FIGURES_MS = 3_000;
/** How long collectors keep ticking after a look at the home page: it asks again every few seconds. */
const LINGER_MS = 30_000;

const SummarySchema = z.object({
  id: z.string(),
  running: z.number(),
  stopped: z.number(),
  cpu_percent: z.number().check(z.describe("the sum over the running containers the caller sees")),
  mem_usage: z.number(),
  figures: z.boolean().check(z.describe("false when the engine is down or serves no stats: counts only")),
});

/**
 * The home page's one request: per environment the caller may see, the containers it sees there
 * (running and not) and their summed CPU and memory, from the collectors the panel runs anyway.
 */
export function overviewRoutes(
  routes: RouteTable,
  deps: { envs: Environments; policy: Policy; collectors: StatsCollectors },
): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/overview",
      tag: "environments",
      policy: "envs:read",
      summary:
        "Every environment the caller may see, at a glance: its containers (those the caller sees) running and stopped, their CPU and memory",
      responses: { 200: json(z.array(SummarySchema), "Summaries"), 401: commonErrors[401] },
    },
    async (c) => {
      const caller = callerOf(c);
      const { envs, policy } = deps;
      const views = envViews(envs, policy, caller);
      const summaries = await Promise.all(
        views.map((v) => {
          const env = envs.get(v.id);
          return env ? summaryOf(env, caller, deps) : undefined;
        }),
      );
      return c.json(summaries.filter((s) => s !== undefined));
    },
  );
}

async function summaryOf(
  env: Environment,
  caller: Caller,
  { policy, collectors }: { policy: Policy; collectors: StatsCollectors },
): Promise<EnvironmentSummary> {
  const audience = policy.audience(caller, env.id);
  const seen = env.containers.list().filter((c) => audience.sees(c));
  const running = seen.filter((c) => c.state === "running").length;
  const summary = { id: env.id, running, stopped: seen.length - running, cpu_percent: 0, mem_usage: 0 };
  const collector = env.connection.status === "up" ? collectors.get(env.id) : undefined;
  if (!collector) return { ...summary, figures: false };
  const figures = visibleFigures(env, audience, await collector.current(FIRST_FIGURES_MS, LINGER_MS));
  for (const f of figures) {
    summary.cpu_percent += f.cpu_percent;
    summary.mem_usage += f.mem_usage;
  }
  summary.cpu_percent = Math.round(summary.cpu_percent * 100) / 100;
  return { ...summary, figures: true };
}
