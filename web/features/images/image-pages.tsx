import { ImageDetail } from "./image-detail.tsx";
import { ImagesList } from "./images-list.tsx";

/** The images pages, one lazily loaded module: the list, or one image's page. */
export function ImagePages({ id }: { id?: string }) {
  return id ? <ImageDetail id={id} /> : <ImagesList />;
}
