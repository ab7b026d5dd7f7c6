import type { Audience } from "../auth/policy.ts";
import type { Environment } from "../envs/environments.ts";

/**
 * The figures of the containers an audience may see on one engine. REST stats, the stats topic and
 * /metrics all filter through here, so what one shows and another hides cannot drift apart.
 */
export function visibleFigures<T extends { id: string }>(
  env: Environment | undefined,
  audience: Audience,
  figures: T[],
): T[] {
  if (audience.key === "*") return figures;
  if (!env) return [];
  return figures.filter((f) => {
    const container = env.containers.find(f.id);
    return container !== undefined && audience.sees(container);
  });
}
