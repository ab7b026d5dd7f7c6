import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tarOf } from "../../src/images/tar.ts";
import { fromListItem } from "../../src/images/view.ts";

describe("an image as the engine lists it", () => {
  it("drops the <none> placeholders older engines list, and calls an image without tags dangling", () => {
    const view = fromListItem({
      Id: "sha256:abc",
      RepoTags: ["<none>:<none>"],
      RepoDigests: ["<none>@<none>"],
      Size: 10,
      Created: 5,
      Labels: null,
    });
    expect(view).toEqual({
      id: "sha256:abc",
      tags: [],
      digests: [],
      size: 10,
      created: 5,
      labels: {},
      dangling: true,
    });
    expect(fromListItem({ Id: "sha256:def", RepoTags: ["a:1"], RepoDigests: null }).dangling).toBe(false);
  });
});

describe("a tar made in memory (a pasted Dockerfile's build context)", () => {
  it("is read back by tar with every file's name and bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "gptest-tar-"));
    try {
      const enc = (s: string) => new TextEncoder().encode(s);
      const big = "x".repeat(1000);
      const file = join(dir, "context.tar");
      writeFileSync(
        file,
        tarOf([
          { name: "Dockerfile", data: enc("FROM scratch\n") },
          { name: "sub/dir/big.txt", data: enc(big) },
          { name: "empty", data: new Uint8Array(0) },
        ]),
      );
      const list = Bun.spawnSync(["tar", "-tvf", file]).stdout.toString();
      expect(list).toMatch(/Dockerfile/);
      expect(list).toMatch(/1000 .*sub\/dir\/big\.txt/);
      const out = Bun.spawnSync(["tar", "-xOf", file, "sub/dir/big.txt"]);
      expect(out.exitCode).toBe(0);
      expect(out.stdout.toString()).toBe(big);
      expect(() => tarOf([{ name: "n".repeat(101), data: new Uint8Array(0) }])).toThrow(/100 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
