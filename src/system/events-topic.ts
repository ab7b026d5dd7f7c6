import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame } from "../stream/frames.ts";
import { eventLogOf } from "./events.ts";

/**
 * `events:<env>`: the engine's latest events (`recent`), then each as it comes (`event`), each
 * subscriber only what it may see; a frame is encoded once per audience. Viewers filter by type,
 * container and action on their side (the REST route filters for API clients).
 */
export function registerEventsTopic(
  bus: TopicBus,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  const follow = (envId: string) => {
    const env = envs.get(envId);
    if (!env) return;
    const topic = `events:${env.id}`;
    eventLogOf(env).onEvent((kept) => {
      const frames = new Map<string, Uint8Array | undefined>();
      bus.publishEach(topic, (_sink, caller) => {
        const audience = policy.audience(caller, env.id);
        if (!frames.has(audience.key))
          frames.set(
            audience.key,
            kept.visible(audience) ? encodeFrame(topic, { k: "event", d: kept.item }) : undefined,
          );
        return frames.get(audience.key);
      });
    });
  };
  envs.onEnv((e) => {
    if (e.kind === "added") follow(e.id);
  });
  for (const env of envs.list()) follow(env.id);

  bus.register("events", {
    action: "events:read",
    resource: ([envId = ""]) => ({ env: envFor(envs, envId).id }),
    open: ([envId = ""], { caller }) => {
      const env = envFor(envs, envId);
      const audience = policy.audience(caller, env.id);
      return [
        {
          k: "recent",
          d: eventLogOf(env)
            .recent()
            .filter((e) => e.visible(audience))
            .map((e) => e.item),
        },
      ];
    },
  });
}
