import type { Environments } from "../../envs/environments.ts";
import type { ContainerView } from "../../state/container-view.ts";
import { type TopicBus, TopicError } from "../bus.ts";

/** `containers:<env>`: the mirror's list, then every change to it. */
export function registerContainerTopic(bus: TopicBus, envs: Environments): void {
  bus.register("containers", {
    open: ([envId]) => {
      const env = envs.get(envId ?? "");
      if (!env) throw new TopicError("not_found", `no environment "${envId ?? ""}"`);
      return [{ k: "snapshot", d: env.mirror.list().map(wireView) }];
    },
  });
  envs.onChange((envId, change) => {
    const topic = `containers:${envId}`;
    if (change.kind === "snapshot") bus.publish(topic, { k: "snapshot", d: change.containers.map(wireView) });
    else if (change.kind === "upsert") bus.publish(topic, { k: "upsert", d: wireView(change.container) });
    else if (change.kind === "remove") bus.publish(topic, { k: "remove", d: { id: change.id } });
  });
}

// `tty` and `pid` are for the panel's own use (reading logs and network counters), not shown to clients.
export function wireView({
  tty: _tty,
  pid: _pid,
  ...view
}: ContainerView): Omit<ContainerView, "tty" | "pid"> {
  return view;
}
