import { describe, expect, it } from "vitest";
import type { ContainerItem } from "../../src/protocol/views.ts";
import {
  compare,
  DEFAULT_QUERY,
  groupByStack,
  matches,
  readQuery,
  writeQuery,
} from "../../web/features/containers/list-query.ts";

const c = (name: string, state: string, labels: Record<string, string> = {}, created = 0) =>
  ({
    id: `${name}-id`,
    name,
    image: "img",
    state,
    labels,
    health: null,
    created,
  }) as unknown as ContainerItem;

describe("the container list's query", () => {
  it("round-trips through the address, keeping only what differs from the defaults", () => {
    const q = {
      ...DEFAULT_QUERY,
      q: "web",
      state: "running" as const,
      stack: "shop",
      sort: "cpu" as const,
      desc: true,
      group: true,
    };
    expect(writeQuery(q)).toBe("q=web&state=running&stack=shop&sort=cpu&desc=1&group=1");
    expect(readQuery(writeQuery(q))).toEqual(q);
    expect(writeQuery(DEFAULT_QUERY)).toBe("");
    expect(readQuery("state=bogus&sort=nope")).toEqual(DEFAULT_QUERY);
  });

  it("filters by state, stack, team and label", () => {
    const list = [
      c("a", "running", { "com.docker.compose.project": "shop", "ghostpanel.team": "red", tier: "web" }),
      c("b", "exited", { "com.docker.compose.project": "shop", tier: "db" }),
      c("d", "running"),
    ];
    const names = (q: Partial<typeof DEFAULT_QUERY>) =>
      list.filter((x) => matches(x, { ...DEFAULT_QUERY, ...q })).map((x) => x.name);
    expect(names({ state: "stopped" })).toEqual(["b"]);
    expect(names({ stack: "shop" })).toEqual(["a", "b"]);
    expect(names({ team: "red" })).toEqual(["a"]);
    expect(names({ label: "tier" })).toEqual(["a", "b"]);
    expect(names({ label: "tier=db" })).toEqual(["b"]);
  });

  it("sorts by live figures with the stopped last, ties by name; groups by stack, the unstacked last", () => {
    const list = [c("x", "running"), c("y", "exited"), c("z", "running"), c("w", "running")];
    const figures = new Map([
      ["x-id", { cpu: 5, mem: 1 }],
      ["z-id", { cpu: 50, mem: 1 }],
      ["w-id", { cpu: 5, mem: 1 }],
    ]);
    const sorted = [...list].sort(compare({ ...DEFAULT_QUERY, sort: "cpu", desc: true }, figures));
    expect(sorted.map((x) => x.name)).toEqual(["z", "w", "x", "y"]);
    const up = [...list].sort(compare({ ...DEFAULT_QUERY, sort: "cpu", desc: false }, figures));
    expect(up.map((x) => x.name)).toEqual(["w", "x", "z", "y"]);
    const groups = groupByStack([
      c("a", "running", { "com.docker.compose.project": "zeta" }),
      c("b", "running"),
      c("d", "running", { "com.docker.compose.project": "alpha" }),
    ]);
    expect(groups.map((g) => g.stack)).toEqual(["alpha", "zeta", ""]);
  });
});
