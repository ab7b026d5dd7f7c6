import { useMemo } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { ContainerItem, ImageItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { useLiveCollection } from "../../lib/live.ts";

/** The engine's images, live, and the containers using each (those the user may see), live too. */
export function useImages() {
  const env = useEnv().id;
  const images = useLiveCollection<ImageItem>(topic.images(env));
  const containers = useLiveCollection<ContainerItem>(topic.containers(env));
  const users = useMemo(() => {
    const byImage = new Map<string, ContainerItem[]>();
    for (const c of containers.list ?? []) byImage.set(c.image_id, [...(byImage.get(c.image_id) ?? []), c]);
    return byImage;
  }, [containers.list]);
  return { images, users };
}
