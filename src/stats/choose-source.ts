import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";
import { CgroupSource } from "./cgroup-source.ts";
import { DockerStatsSource } from "./docker-source.ts";
import type { StatsSource } from "./sample.ts";

/**
 * Best first: the cgroup files, when this process can see the engine's containers there (a local
 * engine, the panel not boxed in a container of its own); else the engine's streaming stats.
 */
export function chooseStatsSource(env: Environment, probe: ContainerView): StatsSource {
  if (env.engine.local && CgroupSource.available({ probe: { id: probe.id, pid: probe.pid } }))
    return new CgroupSource();
  return new DockerStatsSource(env.engine);
}
