import type { Audience } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";

export interface ImageUser {
  id: string;
  name: string;
  state: string;
}

/**
 * Which containers use each image, from the container mirror (any state: a stopped container
 * still holds its image, as the engine's prune and remove count it). `audience`: only the
 * containers that caller may see; without it, every one.
 */
export function imageUsers(env: Environment, audience?: Audience): Map<string, ImageUser[]> {
  const users = new Map<string, ImageUser[]>();
  for (const c of env.containers.list()) {
    if (audience && !audience.sees(c)) continue;
    const list = users.get(c.image_id) ?? [];
    list.push(userOf(c));
    users.set(c.image_id, list);
  }
  return users;
}

const userOf = (c: ContainerView): ImageUser => ({ id: c.id, name: c.name, state: c.state });
