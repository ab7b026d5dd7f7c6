import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";
import { CgroupSource } from "./cgroup-source.ts";
import { DockerStatsSource } from "./docker-source.ts";
import type { StatsSource } from "./sample.ts";
import { WorkerCgroupSource } from "./worker-source.ts";

/**
 * Best first: the cgroup files, when this process can see the engine's containers there (a local
 * engine, the panel not boxed in a container of its own); else the engine's streaming stats.
 * The files are read on a thread of their own; GHOSTPANEL_STATS_READER=main reads them on the main
 * thread instead (how it was before; the bench's baseline).
 */
export function chooseStatsSource(env: Environment, probe: ContainerView): StatsSource {
  if (env.engine.local && CgroupSource.available({ probe: { id: probe.id, pid: probe.pid } }))
    return process.env.GHOSTPANEL_STATS_READER === "main" ? new CgroupSource() : new WorkerCgroupSource();
  return new DockerStatsSource(env.engine);
}
