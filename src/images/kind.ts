import type { ListKind } from "../envs/list-mirror.ts";
import { type EngineImage, fromListItem, type ImageView } from "./view.ts";

/**
 * The engine's images, mirrored as a list: what `docker image ls` shows (intermediate build images
 * left out, as it leaves them out). A pull, a tag, a build or a removal each send `image` events.
 */
export const IMAGES: ListKind<ImageView> = {
  name: "images",
  eventType: "image",
  read: async (engine) => (await engine.get<EngineImage[]>("/images/json")).map(fromListItem),
};
