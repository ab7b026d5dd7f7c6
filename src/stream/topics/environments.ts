import type { Environments } from "../../envs/environments.ts";
import type { TopicBus } from "../bus.ts";

/** `envs`: the list of environments with their status, sent again whenever an engine comes or goes. */
export function registerEnvironmentTopic(bus: TopicBus, envs: Environments): void {
  bus.register("envs", {
    action: "envs:read",
    open: () => [{ k: "envs", d: envs.list() }],
  });
  envs.onChange((_id, change) => {
    if (change.kind === "status") bus.publish("envs", { k: "envs", d: envs.list() });
  });
}
