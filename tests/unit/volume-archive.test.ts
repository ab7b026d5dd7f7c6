import { describe, expect, it } from "vitest";
import { checkEntry, Fingerprint, insidePath } from "../../src/volumes/archive-check.ts";
import { type TarEntry, TarError, TarReader } from "../../src/volumes/tar.ts";
import { tarOf } from "../helpers/tar.ts";

/** Every entry of an archive, fed in chunks of `size` bytes (headers and data split anywhere). */
function entriesOf(archive: Uint8Array, size: number): { entries: TarEntry[]; data: string[] } {
  const entries: TarEntry[] = [];
  const data: string[] = [];
  let current = "";
  const reader = new TarReader({
    entry: (e) => {
      entries.push(e);
      current = "";
    },
    data: (c) => {
      current += Buffer.from(c).toString();
    },
    entryEnd: () => data.push(current),
  });
  for (let at = 0; at < archive.length; at += size) reader.push(archive.subarray(at, at + size));
  reader.end();
  return { entries, data };
}

describe("the streaming tar reader", () => {
  it("reads the same entries however the archive is cut into chunks", () => {
    const long = `${"d".repeat(120)}/${"f".repeat(80)}`;
    const record = ` path=${long}\n`;
    const pax = `${record.length + 3}${record}`;
    const archive = tarOf([
      { name: "dir", type: "5" },
      { name: "dir/a.txt", data: "hello" },
      // a pax header naming the next entry (longer than the header's 100 bytes)
      { name: "PaxHeader", type: "x", data: pax },
      { name: "short", data: "x".repeat(1000) },
      { name: "././@LongLink", type: "L", data: `${long}-gnu\0` },
      { name: "cut", data: "" },
      { name: "link", type: "2", linkname: "dir/a.txt" },
    ]);
    for (const size of [1, 7, 511, 512, 513, 4096, archive.length]) {
      const { entries, data } = entriesOf(archive, size);
      expect(
        entries.map((e) => `${e.type}:${e.path}`),
        String(size),
      ).toEqual(["dir:dir", "file:dir/a.txt", `file:${long}`, `file:${long}-gnu`, "symlink:link"]);
      expect(data, String(size)).toEqual(["", "hello", "x".repeat(1000), "", ""]);
    }
  });

  it("refuses what is not a tar, and a tar cut short", () => {
    expect(() => new TarReader({ entry: () => {} }).push(new Uint8Array(512).fill(65))).toThrow(TarError);
    const cut = new TarReader({ entry: () => {} });
    cut.push(tarOf([{ name: "f", data: "y".repeat(2000) }]).subarray(0, 1000));
    expect(() => cut.end()).toThrow(/ends in the middle/);
    expect(() => new TarReader({ entry: () => {} }).end()).toThrow(/empty/);
  });
});

describe("what a restore lets into a volume", () => {
  const run = (entries: Parameters<typeof tarOf>[0]) => {
    const seen = { files: new Set<string>(), links: new Map<string, string>() };
    const reader = new TarReader(new Fingerprint((e) => checkEntry(e, seen)));
    reader.push(tarOf(entries));
    reader.end();
  };

  it("cleans names below the root and knows when they leave it", () => {
    expect(insidePath("./a/./b/")).toBe("a/b");
    expect(insidePath("./")).toBe("");
    expect(insidePath("/etc/passwd")).toBeNull();
    expect(insidePath("a/../../b")).toBeNull();
    expect(insidePath("a/..")).toBeNull();
  });

  it("takes directories, files, links inside and hard links to earlier files", () => {
    expect(() =>
      run([
        { name: "./", type: "5" },
        { name: "./a/", type: "5" },
        { name: "./a/f", data: "1" },
        { name: "./a/up", type: "2", linkname: "../a/f" },
        { name: "./a/self", type: "2", linkname: "." },
        { name: "./h", type: "1", linkname: "./a/f" },
        { name: "./through", type: "2", linkname: "a/up" },
      ]),
    ).not.toThrow();
  });

  for (const [what, entries, says] of [
    ["absolute", [{ name: "/etc/x", data: "x" }], "leaves the volume"],
    ["dot-dot", [{ name: "../x", data: "x" }], "leaves the volume"],
    ["absolute symlink", [{ name: "l", type: "2", linkname: "/" }], "points out"],
    ["climbing symlink", [{ name: "a/l", type: "2", linkname: "../.." }], "points out"],
    [
      "a climb through the archive's own symlink",
      [
        { name: "d", type: "5" },
        { name: "d/s", type: "2", linkname: ".." },
        { name: "l", type: "2", linkname: "d/s/.." },
      ],
      "points out",
    ],
    [
      "a symlink loop, followed",
      [
        { name: "a", type: "2", linkname: "a/x" },
        { name: "c", type: "2", linkname: "a/y" },
      ],
      "points out",
    ],
    ["hard link to nothing earlier", [{ name: "h", type: "1", linkname: "later" }], "hard link"],
    ["block device", [{ name: "sda", type: "4", devmajor: 8 }], "device"],
    ["fifo", [{ name: "p", type: "6" }], "fifo"],
    ["GNU sparse", [{ name: "s", type: "S" }], 'type "S"'],
    ["a file as the root", [{ name: "./", data: "x" }], "root"],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(() => run(entries as unknown as Parameters<typeof tarOf>[0])).toThrow(says);
    });
  }

  it("fingerprints two archives of the same files alike, whatever their order", () => {
    const of = (entries: Parameters<typeof tarOf>[0]) => {
      const f = new Fingerprint();
      const r = new TarReader(f);
      r.push(tarOf(entries));
      r.end();
      return f;
    };
    const a = of([
      { name: "x", data: "1" },
      { name: "y", type: "2", linkname: "x" },
      { name: "h", type: "1", linkname: "x" },
    ]);
    const b = of([
      { name: "./y", type: "2", linkname: "x" },
      { name: "./x", data: "1" },
      { name: "./h", data: "1" },
    ]);
    expect(a.differences(b)).toEqual([]);
    const c = of([
      { name: "x", data: "2" },
      { name: "y", type: "2", linkname: "x" },
    ]);
    expect(a.differences(c)).toEqual(["x", "h"]);
  });
});
