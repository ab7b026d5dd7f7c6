import type { Audience } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";
import type { VolumeItem, VolumeUser } from "../protocol/views.ts";
import type { VolumeView } from "./view.ts";

const cache = new WeakMap<Environment, { version: number; users: Map<string, ContainerView[]> }>();

/**
 * Which containers mount each volume, from the container mirror (no inspect): made again only when
 * the mirror changed. The panel's own helpers are not in the mirror, so they never count.
 */
export function usersByVolume(env: Environment): Map<string, ContainerView[]> {
  const held = cache.get(env);
  if (held?.version === env.containers.version) return held.users;
  const users = new Map<string, ContainerView[]>();
  for (const c of env.containers.list())
    for (const v of c.volumes) {
      const list = users.get(v);
      if (list) list.push(c);
      else users.set(v, [c]);
    }
  cache.set(env, { version: env.containers.version, users });
  return users;
}

/** A volume as one audience gets it: the containers mounting it that the audience may see, and how many more. */
export function volumeItem(view: VolumeView, audience: Audience, env: Environment): VolumeItem {
  const users = usersByVolume(env).get(view.name) ?? [];
  const used_by: VolumeUser[] = users
    .filter((c) => audience.sees(c))
    .map((c) => ({ id: c.id, name: c.name, state: c.state }));
  return { ...view, used_by, used_by_hidden: users.length - used_by.length };
}
