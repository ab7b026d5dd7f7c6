import type { Audience, Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import type { ContainerItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame, type Message } from "../stream/frames.ts";
import type { ContainerView } from "./view.ts";

/**
 * `containers:<env>`: the mirror's list, then every change to it — each subscriber only what its
 * teams own. A change is encoded once per audience (everyone who sees the same set), not once per
 * subscriber; when team ownership changes, every subscriber gets a fresh snapshot.
 */
export function registerContainerTopic(
  bus: TopicBus,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  const envOf = (envId: string) => envFor(envs, envId);
  bus.register("containers", {
    action: "containers:read",
    resource: ([envId = ""]) => ({ env: envOf(envId).id }),
    open: ([envId = ""], { caller }) => {
      const audience = policy.audience(caller, envId);
      return [{ k: "snapshot", d: envOf(envId).containers.list().filter(audience.sees).map(wireView) }];
    },
  });

  const publish = (envId: string, make: (audience: Audience) => Message | undefined) => {
    const frames = new Map<string, Uint8Array | undefined>();
    const topic = `containers:${envId}`;
    bus.publishEach(topic, (_sink, caller) => {
      const audience = policy.audience(caller, envId);
      if (!frames.has(audience.key)) {
        const m = make(audience);
        frames.set(audience.key, m && encodeFrame(topic, m));
      }
      return frames.get(audience.key);
    });
  };
  const snapshot = (envId: string, list: ContainerView[]) =>
    publish(envId, (a) => ({ k: "snapshot", d: list.filter(a.sees).map(wireView) }));

  envs.onContainers((envId, change) => {
    if (change.kind === "snapshot") snapshot(envId, change.containers);
    else if (change.kind === "upsert") {
      const { container: c, before } = change;
      // Seen before and not now (its labels changed): gone, for this audience.
      publish(envId, (a) =>
        a.sees(c) ? { k: "upsert", d: wireView(c) } : before && a.sees(before) ? removal(c.id) : undefined,
      );
    } else if (change.kind === "remove") {
      publish(envId, (a) => (a.sees(change.container) ? removal(change.id) : undefined));
    }
  });
  policy.onOwnershipChange(() => {
    for (const topic of bus.topicNames("containers")) {
      const envId = topic.slice("containers:".length);
      const env = envs.get(envId);
      if (env) snapshot(envId, env.containers.list());
    }
  });
}

const removal = (id: string): Message => ({ k: "remove", d: { id } });

// `tty` and `pid` are for the panel's own use (reading logs and network counters), not shown to clients.
export function wireView({ tty: _tty, pid: _pid, ...view }: ContainerView): ContainerItem {
  return view;
}
