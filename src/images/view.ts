import type { ImageItem } from "../protocol/views.ts";

/** An image as the panel keeps it: what clients are sent. */
export type ImageView = ImageItem;

/** One item of the engine's `GET /images/json`. */
export interface EngineImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  Created?: number;
  Labels?: Record<string, string> | null;
}

// What the engine lists in place of a missing tag or digest (older engines list them so).
const NONE = new Set(["<none>:<none>", "<none>@<none>"]);

export function fromListItem(i: EngineImage): ImageView {
  const tags = (i.RepoTags ?? []).filter((t) => !NONE.has(t));
  return {
    id: i.Id,
    tags,
    digests: (i.RepoDigests ?? []).filter((d) => !NONE.has(d)),
    size: i.Size ?? 0,
    created: i.Created ?? 0,
    labels: i.Labels ?? {},
    dangling: tags.length === 0,
  };
}
