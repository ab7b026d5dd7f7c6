import type { Caller, Policy } from "../auth/policy.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame } from "../stream/frames.ts";
import type { Environments } from "./environments.ts";
import { envViews } from "./resolve.ts";

/**
 * `envs`: the list of environments with their status, sent again whenever an engine comes or goes;
 * to a token limited to some engines, those only.
 */
export function registerEnvironmentTopic(
  bus: TopicBus,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  const visible = (caller: Caller) => envViews(envs, policy, caller);
  bus.register("envs", {
    action: "envs:read",
    open: (_args, { caller }) => [{ k: "envs", d: visible(caller) }],
  });
  envs.onEnv(() => {
    // One frame per distinct list, not per subscriber.
    const frames = new Map<string, Uint8Array>();
    bus.publishEach("envs", (_sink, caller) => {
      const list = visible(caller);
      const key = `${policy.can(caller, "envs:manage")}\u0000${list.map((e) => e.id).join("\u0000")}`;
      let frame = frames.get(key);
      if (!frame) {
        frame = encodeFrame("envs", { k: "envs", d: list });
        frames.set(key, frame);
      }
      return frame;
    });
  });
}
