import type { Policy } from "../auth/policy.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import type { Environments } from "../envs/environments.ts";
import type { UpdateItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import type { UpdateChecker, UpdateState } from "./checker.ts";

/** `updates:<env>`: which containers' images have newer ones, each seen by who sees the container. */
export function registerUpdateTopic(
  bus: TopicBus,
  deps: { envs: Environments; policy: Policy; updates: UpdateChecker },
): void {
  registerCollectionTopic<UpdateState, UpdateItem>(bus, deps, {
    family: "updates",
    action: "containers:read",
    items: (env) => deps.updates.list(env.id),
    follow: (listener) => deps.updates.onChange(listener),
    visible: (audience, u) => audience.sees(u),
    wire: updateWire,
  });
}

// The labels and the image id decide visibility and staleness; the container list carries them.
export function updateWire({ labels: _labels, image_id: _imageId, ...item }: UpdateState): UpdateItem {
  return item;
}
