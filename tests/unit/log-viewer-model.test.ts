import { describe, expect, it } from "vitest";
import { parseAnsi, plainText } from "../../web/features/logs/ansi.ts";
import {
  type Filter,
  FilteredIds,
  LogStore,
  matches,
  type NewLine,
  shortNames,
} from "../../web/features/logs/log-store.ts";

const E = "\u001b";

describe("ANSI colours", () => {
  it("become styled runs of text; other escapes are dropped", () => {
    expect(parseAnsi(`plain`)).toEqual([{ text: "plain" }]);
    expect(
      parseAnsi(`${E}[1;31mERROR${E}[0m done ${E}[2K${E}[38;5;208mor${E}[48;2;1;2;3mange${E}[39;49m!`),
    ).toEqual([
      { text: "ERROR", cls: "a-fg1 a-b" },
      { text: " done " },
      { text: "or", fg: "rgb(255,135,0)" },
      { text: "ange", fg: "rgb(255,135,0)", bg: "rgb(1,2,3)" },
      { text: "!" },
    ]);
    expect(parseAnsi(`${E}[92mok${E}[m`)).toEqual([{ text: "ok", cls: "a-fg10" }]);
    expect(plainText(`${E}[31m<b>x</b>${E}[0m${E}7${E}]0;title\u0007!`)).toBe("<b>x</b>!");
  });
});

const line = (us: number, text: string, source = 0, stderr = false): NewLine => ({
  us,
  text,
  source,
  stderr,
});

function expected(store: LogStore, f: Filter): number[] {
  const ids: number[] = [];
  for (let i = 0; i < store.length; i++) if (matches(store, i, f)) ids.push(store.start + i);
  return ids;
}

describe("LogStore", () => {
  it("keeps lines of several containers in time order, and ids stable when lines are added before or after", () => {
    const s = new LogStore();
    s.insert([line(10, "a"), line(20, "b")]);
    s.insert([line(30, "c")]);
    const epoch = s.epoch;
    s.insert([line(1, "older"), line(5, "old")]);
    expect(s.epoch).toBe(epoch);
    expect(s.text).toEqual(["older", "old", "a", "b", "c"]);
    expect(s.indexOf(s.start + 2)).toBe(2);
    s.insert([line(15, "x", 1), line(25, "y", 1), line(40, "z", 1)]);
    expect(s.epoch).toBe(epoch + 1);
    expect(s.text).toEqual(["older", "old", "a", "x", "b", "y", "c", "z"]);
    expect(s.meta.map((m) => m >> 1)).toEqual([0, 0, 0, 1, 0, 1, 0, 1]);
  });

  it("filters by stream, source and search, found again only for what is new", () => {
    const s = new LogStore();
    const ids = new FilteredIds();
    const f: Filter = { stream: "stderr", search: /bo+m/gi, sources: new Set([0]) };
    let t = 100;
    for (let round = 0; round < 5; round++) {
      s.insert(
        Array.from({ length: 50 }, (_, i) =>
          line(t++, i % 3 ? `boom ${round}.${i}` : "quiet", i % 4 === 0 ? 1 : 0, i % 2 === 0),
        ),
      );
      if (round === 2) s.insert([line(1, "BOOOM from before", 0, true)]);
      const got = ids.update(s, f);
      expect(got.ids.slice(got.head)).toEqual(expected(s, f));
    }
    const all: Filter = { stream: "all", search: null, sources: null };
    const got = new FilteredIds().update(s, all);
    expect(got.ids.length).toBe(s.length);
  });
});

describe("merged views' tags", () => {
  it("drop the prefix every name shares, at a separator", () => {
    expect(shortNames(["shop-web-1", "shop-worker-1", "shop-db-1"])).toEqual(["web-1", "worker-1", "db-1"]);
    expect(shortNames(["alpha", "beta"])).toEqual(["alpha", "beta"]);
    expect(shortNames(["app", "app-2"])).toEqual(["app", "app-2"]);
    expect(shortNames(["only-one"])).toEqual(["only-one"]);
  });
});
