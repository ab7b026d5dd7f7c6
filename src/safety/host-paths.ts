import { lstatSync } from "node:fs";
import { posix } from "node:path";
import type { EngineSafety } from "../settings/engine-safety.ts";

/**
 * Whether a non-admin may bind this host path. The engine resolves a bind's source when the
 * container STARTS, following symlinks, so a check at create time only holds if nothing can change
 * the path in between. What this can prove, and so what it requires:
 * - the engine is on this machine (a remote engine's files cannot be looked at from here);
 * - the path is exactly one an admin listed (not a path below it: a container that has the listed
 *   directory mounted could swap anything below it for a symlink to / before the engine mounts it);
 * - it exists now, and no component of it is a symlink;
 * - every directory above it is root's and writable by nobody else, and is not itself a listed path
 *   (so no non-admin container ever has it mounted to write in).
 * An admin who binds a parent of a listed path into a container hands that guarantee over.
 */
export function hostPathProblem(
  source: string,
  settings: EngineSafety,
  onThisMachine: boolean,
): string | undefined {
  const listed = settings.allowed_bind_paths.map(normal);
  const refused = (why: string) =>
    `host path ${source}: ${why}${listed.length ? ` (allowed: ${listed.join(", ")})` : " (no host paths are allowed; an admin lists them in the security settings)"}`;
  if (!source.startsWith("/")) return refused("not an absolute path");
  const path = normal(source);
  if (!listed.includes(path)) return refused("not one of the host paths non-admins may bind");
  if (!onThisMachine) return refused("the engine is not on this machine, so the path cannot be checked");
  let at = "";
  const parts = path.split("/").filter(Boolean);
  for (const [i, part] of ["", ...parts].entries()) {
    at = i === 0 ? "/" : posix.join(at, part);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(at);
    } catch {
      return refused(`${at} does not exist`);
    }
    if (st.isSymbolicLink()) return refused(`${at} is a symlink`);
    const last = at === path;
    if (!last) {
      if (st.uid !== 0 || (st.mode & 0o022) !== 0)
        return refused(`${at} can be changed by someone other than root`);
      if (at !== "/" && listed.includes(at)) return refused(`${at} above it is itself bindable`);
    }
  }
  return undefined;
}

function normal(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}
