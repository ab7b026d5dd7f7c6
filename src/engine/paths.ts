import { EngineError } from "./errors.ts";

/**
 * Docker's own rule for container names; full and short ids (hex) keep it too. Anything else can
 * only be junk, and some junk is dangerous: the engine decodes a path before routing it, so an
 * encoded "/" or ".." still reaches its router as a path separator, which it answers with a 301
 * to a cleaned path, and "name/pause?" names another endpoint altogether.
 */
const CONTAINER_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_REF = 256;

/** A container reference fit for an engine path: a name's leading "/" dropped, anything else refused (404). */
export function containerRef(ref: string): string {
  const bare = ref.startsWith("/") ? ref.slice(1) : ref;
  if (bare.length > MAX_REF || !CONTAINER_REF.test(bare)) {
    throw new EngineError(404, `no such container: ${JSON.stringify(ref.slice(0, MAX_REF))}`);
  }
  return encodeURIComponent(bare);
}

/** `/containers/<ref><rest>`, the reference checked and encoded: every caller-named container goes through here. */
export function containerPath(ref: string, rest = ""): string {
  return `/containers/${containerRef(ref)}${rest}`;
}
