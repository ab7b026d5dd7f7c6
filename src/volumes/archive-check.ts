import type { TarEntry, TarHandlers } from "./tar.ts";
import { TarError } from "./tar.ts";

/** An entry's path inside the volume ("" is its root, "a/b" below it), or null when it leaves it. */
export function insidePath(name: string): string | null {
  if (name.startsWith("/") || name.includes("\0")) return null;
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return null;
  return parts.join("/");
}

const MAX_LINK_DEPTH = 40;

/**
 * Where a symlink at `at` pointing to `target` lands, following the archive's own symlinks as it
 * goes (so that `d/s -> ..` then `l -> d/s/..` is seen to climb out); null when it leaves the volume.
 */
function resolveLink(at: string[], target: string, links: Map<string, string>, depth = 0): string[] | null {
  if (target.startsWith("/") || depth > MAX_LINK_DEPTH) return null;
  const stack = at.slice();
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = links.get(stack.join("/"));
    if (link !== undefined) {
      const landed = resolveLink(stack.slice(0, -1), link, links, depth + 1);
      if (!landed) return null;
      stack.splice(0, stack.length, ...landed);
    }
  }
  return stack;
}

/**
 * What a restore lets into a volume: directories, files, symlinks that stay inside it and hard
 * links to files earlier in the same archive. Everything else is refused before the engine sees
 * it: a name with `..` or a leading `/`, a symlink out (absolute, or climbing above the root), a
 * hard link to anything the archive did not itself hold, device nodes, fifos and the rest.
 * (The engine's own extractor refuses `..` names and climbing links but writes absolute names
 * under the root and creates absolute symlinks and device nodes: docs/security.md.)
 */
export function checkEntry(
  entry: TarEntry,
  seen: { files: Set<string>; links: Map<string, string> },
): string {
  const path = insidePath(entry.path);
  const refuse = (why: string) => new TarError(`entry "${entry.path}": ${why}`);
  if (path === null) throw refuse("its name leaves the volume (an absolute path or ..)");
  switch (entry.type) {
    case "dir":
      return path;
    case "file":
      if (path === "") throw refuse("a file cannot be the volume's root");
      seen.files.add(path);
      return path;
    case "symlink": {
      if (path === "") throw refuse("the volume's root cannot be a symlink");
      const parent = path.split("/").slice(0, -1);
      if (!entry.linkname || !resolveLink(parent, entry.linkname, seen.links))
        throw refuse(`symlink to "${entry.linkname}" points out of the volume`);
      seen.links.set(path, entry.linkname);
      return path;
    }
    case "hardlink": {
      const target = insidePath(entry.linkname);
      if (target === null || !seen.files.has(target))
        throw refuse(`hard link to "${entry.linkname}", which is not a file earlier in this archive`);
      seen.files.add(path);
      return path;
    }
    default:
      throw refuse(
        `${entry.type === "other" ? `type "${entry.flag}"` : `a ${entry.type} device or fifo`} is not allowed in a volume (files, directories and links only)`,
      );
  }
}

/**
 * What a volume holds, as an archive of it says: a digest per path (files by their SHA-256, links
 * by their target, directories by being there), made as the archive streams past. Two archives
 * hold the same files exactly when every path of one has the same digest in the other.
 */
export class Fingerprint implements TarHandlers {
  readonly digests = new Map<string, string>();
  bytes = 0;
  private hasher: Bun.CryptoHasher | undefined;
  private current = "";

  constructor(private readonly check?: (entry: TarEntry) => void) {}

  entry(entry: TarEntry): void {
    this.check?.(entry);
    const path = insidePath(entry.path) ?? entry.path;
    this.current = path;
    this.hasher = undefined;
    if (entry.type === "file") this.hasher = new Bun.CryptoHasher("sha256");
    else if (entry.type === "dir") this.digests.set(path, "dir");
    else if (entry.type === "symlink") this.digests.set(path, `symlink:${entry.linkname}`);
    else if (entry.type === "hardlink")
      this.digests.set(path, this.digests.get(insidePath(entry.linkname) ?? "") ?? "hardlink:?");
    else this.digests.set(path, entry.type);
  }

  data(chunk: Uint8Array): void {
    this.hasher?.update(chunk);
    this.bytes += chunk.length;
  }

  entryEnd(): void {
    if (this.hasher) this.digests.set(this.current, `file:${this.hasher.digest("hex")}`);
    this.hasher = undefined;
  }

  /** Paths whose digest here differs from `actual`'s (missing there included). */
  differences(actual: Fingerprint): string[] {
    const out: string[] = [];
    for (const [path, digest] of this.digests) if (actual.digests.get(path) !== digest) out.push(path || ".");
    return out;
  }

  count(kind: "file" | "dir" | "symlink"): number {
    let n = 0;
    for (const d of this.digests.values()) if (d.startsWith(kind)) n++;
    return n;
  }
}
