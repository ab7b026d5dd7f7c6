import type { Policy } from "../auth/policy.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import type { Environments } from "../envs/environments.ts";
import type { ContainerItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import type { ContainerView } from "./view.ts";

/** `containers:<env>`: the container mirror as a live list, each subscriber seeing what its teams own. */
export function registerContainerTopic(bus: TopicBus, deps: { envs: Environments; policy: Policy }): void {
  registerCollectionTopic<ContainerView, ContainerItem>(bus, deps, {
    family: "containers",
    action: "containers:read",
    items: (env) => env.containers.list(),
    follow: (listener) =>
      deps.envs.onContainers((envId, change) =>
        listener(
          envId,
          change.kind === "snapshot"
            ? { kind: "snapshot", items: change.containers }
            : change.kind === "upsert"
              ? { kind: "upsert", item: change.container, before: change.before }
              : { kind: "remove", id: change.id, item: change.container },
        ),
      ),
    visible: (audience, c) => audience.sees(c),
    wire: wireView,
  });
}

// `tty`, `pid` and `volumes` are for the panel's own use (reading logs, network counters, a volume's
// users), not shown to clients.
export function wireView({ tty: _tty, pid: _pid, volumes: _volumes, ...view }: ContainerView): ContainerItem {
  return view;
}
