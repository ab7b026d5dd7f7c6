import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => join(dir, f));
}

// Static imports and re-exports (`… from "x"`), side-effect imports and dynamic `import("x")`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;

interface Import {
  /** As written. */
  spec: string;
  /** A relative import's file, from the repository root; undefined for a package or built-in. */
  path?: string;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(SPECIFIER)].map(([, spec = ""]) =>
    spec.startsWith(".") ? { spec, path: relative(ROOT, resolve(ROOT, dirname(file), spec)) } : { spec },
  );
}

const offenders = (files: string[], bad: (i: Import) => boolean) =>
  files.flatMap((file) =>
    importsOf(file)
      .filter(bad)
      .map((i) => `${file} → ${i.spec}`),
  );

describe("import boundaries", () => {
  it("reads the imports it judges", () => {
    expect(importsOf("src/stream/websocket.ts")).toContainEqual({
      spec: "../protocol/close-codes.ts",
      path: "src/protocol/close-codes.ts",
    });
    expect(importsOf("src/protocol/frames.ts")).toContainEqual({ spec: "msgpackr/unpack" });
  });

  it("no file under src/ imports from web/", () => {
    expect(offenders(sourceFiles("src"), (i) => i.path?.startsWith("web/") ?? false)).toEqual([]);
  });

  it("src/protocol/ imports only itself and packages, no runtime built-ins: the UI bundles it", () => {
    const outside = (i: Import) =>
      i.path === undefined ? /^(node|bun):|^bun$/.test(i.spec) : !i.path.startsWith("src/protocol/");
    expect(offenders(sourceFiles("src/protocol"), outside)).toEqual([]);
  });

  it("no import loop among the files under src/, type-only imports included", () => {
    const files = sourceFiles("src");
    const edges = new Map(files.map((f) => [f, importsOf(f).flatMap((i) => (i.path ? [i.path] : []))]));
    const loops: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const walk = (file: string) => {
      state.set(file, "open");
      path.push(file);
      for (const next of edges.get(file) ?? []) {
        if (state.get(next) === "open") loops.push([...path.slice(path.indexOf(next)), next].join(" → "));
        else if (!state.has(next) && edges.has(next)) walk(next);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) walk(file);
    expect(loops).toEqual([]);
  });
});
