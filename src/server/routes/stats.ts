import * as z from "zod/mini";
import type { Environments } from "../../envs/environments.ts";
import type { StatsCollectors } from "../../stats/collectors.ts";
import { ApiError } from "../errors.ts";
import type { RouteTable } from "../route-table.ts";
import { commonErrors, EnvParam, json } from "../schemas.ts";
import { environmentOf } from "./envs.ts";

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

export function statsRoutes(routes: RouteTable, envs: Environments, collectors: StatsCollectors): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/stats",
      tag: "stats",
      summary:
        "Newest figures per running container (cpu_percent as `docker stats` shows it; bytes and cumulative counters as the engine reports them). The X-Stats-Source header says where they come from: cgroup or docker.",
      params: EnvParam,
      responses: { 200: json(z.array(StatsSchema), "Figures"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = environmentOf(envs, params.env);
      const collector = collectors.get(env.id);
      if (!collector) throw new ApiError(400, "unsupported", `engine "${env.name}" serves no stats`);
      const figures = await collector.current(FIRST_FIGURES_MS, LINGER_MS);
      c.header("X-Stats-Source", collector.sourceName ?? "none");
      return c.json(figures);
    },
  );
}
