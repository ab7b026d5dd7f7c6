import type { Policy } from "../auth/policy.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import { type Environments, listOf } from "../envs/environments.ts";
import type { ImageItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import { IMAGES } from "./kind.ts";
import type { ImageView } from "./view.ts";

/**
 * `images:<env>`: the engine's images as a live list. Images are the engine's, not a team's:
 * every caller who may read images sees all of them (which containers use one is the containers
 * topic's to say, filtered by team).
 */
export function registerImageTopic(bus: TopicBus, deps: { envs: Environments; policy: Policy }): void {
  registerCollectionTopic<ImageView, ImageItem>(bus, deps, {
    family: "images",
    action: "images:read",
    items: (env) => listOf(env, IMAGES).list(),
    follow: (listener) => deps.envs.onList(IMAGES, listener),
    visible: () => true,
    wire: (image) => image,
  });
}
