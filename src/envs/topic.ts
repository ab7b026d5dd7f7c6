import type { Caller, Policy } from "../auth/policy.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame } from "../stream/frames.ts";
import type { Environments } from "./environments.ts";
import { envViews } from "./resolve.ts";

/**
 * `envs`: the list of environments with their status, sent again whenever an engine comes, goes or changes;
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
  const publish = () => {
    // One frame per distinct list, not per subscriber.
    const frames = new Map<string, Uint8Array>();
    bus.publishEach("envs", (_sink, caller) => {
      const list = visible(caller);
      // Callers shown the same list (ids, addresses, roles) share a frame.
      const key = JSON.stringify(list.map((e) => [e.id, e.url, e.role]));
      let frame = frames.get(key);
      if (!frame) {
        frame = encodeFrame("envs", { k: "envs", d: list });
        frames.set(key, frame);
      }
      return frame;
    });
  };
  envs.onEnv(publish);
  // A team given an engine, or no longer: who sees it changed.
  policy.onOwnershipChange(publish);
}
