/**
 * An image reference as the engine reads it (distribution's "normalized named" form): `busybox` is
 * docker.io/library/busybox:latest, `127.0.0.1:5000/app:1` is on that registry, and a digest
 * (`@sha256:…`) pins one manifest.
 */
export interface ImageReference {
  /** the registry's host[:port]; "docker.io" for Docker Hub */
  registry: string;
  /** the repository on that registry: "library/busybox", "app" */
  repository: string;
  /** "latest" when neither tag nor digest is given */
  tag: string | undefined;
  digest: string | undefined;
}

const DOCKER_HUB = "docker.io";
// One component: lower-case alphanumerics separated by . _ __ or dashes (distribution's grammar).
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export class ImageReferenceError extends Error {}

export function parseReference(text: string): ImageReference {
  if (text.length === 0 || text.length > 512)
    throw new ImageReferenceError("an image reference is 1 to 512 characters");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(`"${digest}" is not a digest (sha256:<hex>)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageReferenceError(`"${tag}" is not a tag (letters, digits, _ . -)`);
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  // The first part names a registry when it looks like a host: a dot, a port, or localhost.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) registry = parts.shift()!;
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DOCKER_HUB;
  if (parts.length === 1 && registry === DOCKER_HUB) parts.unshift("library");
  for (const p of parts) {
    if (!COMPONENT.test(p))
      throw new ImageReferenceError(`"${text}" is not an image reference: "${p}" is not a valid name`);
  }
  return { registry, repository: parts.join("/"), tag: tag ?? (digest ? undefined : "latest"), digest };
}

/** The reference as the engine and the CLI show it: Docker Hub's names short. */
export function formatReference(ref: ImageReference): string {
  const name =
    ref.registry === DOCKER_HUB
      ? ref.repository.replace(/^library\//, "")
      : `${ref.registry}/${ref.repository}`;
  return `${name}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The repository's name without tag or digest, as the engine's `fromImage` and push take it. */
export function repositoryName(ref: ImageReference): string {
  return formatReference({ ...ref, tag: undefined, digest: undefined });
}

/** `sha256:…` or a bare hex id: an image named by its id, which no registry serves under a tag. */
export function isImageId(text: string): boolean {
  return /^sha256:[a-f0-9]{12,64}$/.test(text) || /^[a-f0-9]{12,64}$/.test(text);
}
