import type { Policy } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import { type Environments, listOf } from "../envs/environments.ts";
import type { VolumeItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import { VOLUMES } from "./kind.ts";
import { volumeItem } from "./usage.ts";
import { asOwned, type VolumeView } from "./view.ts";

/**
 * `volumes:<env>`: the volume mirror as a live list, each subscriber seeing what its teams own. A
 * volume's users come from the container mirror, so a container made, renamed or removed is an
 * upsert of the volumes it mounts (the engine sends no volume event for those).
 */
export function registerVolumeTopic(bus: TopicBus, deps: { envs: Environments; policy: Policy }): void {
  const { envs } = deps;
  registerCollectionTopic<VolumeView, VolumeItem>(bus, deps, {
    family: "volumes",
    action: "volumes:read",
    items: (env) => listOf(env, VOLUMES).list(),
    follow: (listener) => {
      envs.onList(VOLUMES, listener);
      envs.onContainers((envId, change) => {
        const env = envs.get(envId);
        if (!env) return;
        const volumes = listOf(env, VOLUMES);
        if (change.kind === "snapshot") {
          if (volumes.ready) listener(envId, { kind: "snapshot", items: volumes.list() });
          return;
        }
        const now: ContainerView | undefined = change.kind === "upsert" ? change.container : undefined;
        const was: ContainerView | undefined = change.kind === "upsert" ? change.before : change.container;
        if (now && was && now.name === was.name && now.state === was.state && sameVolumes(now, was)) return;
        for (const name of new Set([...(now?.volumes ?? []), ...(was?.volumes ?? [])])) {
          const item = volumes.get(name);
          if (item) listener(envId, { kind: "upsert", item, before: item });
        }
      });
    },
    visible: (audience, v) => audience.sees(asOwned(v)),
    wire: volumeItem,
  });
}

const sameVolumes = (a: ContainerView, b: ContainerView) =>
  a.volumes.length === b.volumes.length && a.volumes.every((v, i) => b.volumes[i] === v);
