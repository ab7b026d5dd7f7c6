/**
 * What the container list shows, as it is kept in the address (`#/envs/<env>/containers?…`):
 * search, state, stack, team and label filters, the sort and the grouping — a reload or a shared
 * link shows the same list. Pure functions, so that the list's rules are tested without a browser.
 */
import type { ContainerItem } from "../../../src/protocol/views.ts";

export const STACK_LABEL = "com.docker.compose.project";
export const TEAM_LABEL = "ghostpanel.team";

export type StateFilter = "all" | "running" | "stopped" | "paused" | "unhealthy";
export type SortKey = "name" | "state" | "image" | "created" | "cpu" | "mem";

export interface ListQuery {
  q: string;
  state: StateFilter;
  stack: string;
  team: string;
  /** "key" or "key=value" */
  label: string;
  sort: SortKey;
  desc: boolean;
  /** grouped by compose project */
  group: boolean;
}

export const DEFAULT_QUERY: ListQuery = {
  q: "",
  state: "all",
  stack: "",
  team: "",
  label: "",
  sort: "name",
  desc: false,
  group: false,
};

const STATES: readonly StateFilter[] = ["all", "running", "stopped", "paused", "unhealthy"];
const SORTS: readonly SortKey[] = ["name", "state", "image", "created", "cpu", "mem"];

export function readQuery(search: string): ListQuery {
  const p = new URLSearchParams(search);
  const state = p.get("state") as StateFilter;
  const sort = p.get("sort") as SortKey;
  return {
    q: p.get("q") ?? "",
    state: STATES.includes(state) ? state : "all",
    stack: p.get("stack") ?? "",
    team: p.get("team") ?? "",
    label: p.get("label") ?? "",
    sort: SORTS.includes(sort) ? sort : "name",
    desc: p.get("desc") === "1",
    group: p.get("group") === "1",
  };
}

/** Only what differs from the defaults, so a plain list keeps a plain address. */
export function writeQuery(query: ListQuery): string {
  const p = new URLSearchParams();
  for (const [key, value] of Object.entries(query) as [keyof ListQuery, ListQuery[keyof ListQuery]][]) {
    if (value === DEFAULT_QUERY[key]) continue;
    p.set(key, typeof value === "boolean" ? (value ? "1" : "0") : value);
  }
  return p.toString();
}

const STATE_TEST: Record<StateFilter, (c: ContainerItem) => boolean> = {
  all: () => true,
  running: (c) => c.state === "running",
  stopped: (c) => c.state === "exited" || c.state === "created" || c.state === "dead",
  paused: (c) => c.state === "paused",
  unhealthy: (c) => c.health === "unhealthy",
};

export function matches(c: ContainerItem, query: ListQuery): boolean {
  const q = query.q.trim().toLowerCase();
  if (q && !c.name.toLowerCase().includes(q) && !c.image.toLowerCase().includes(q) && !c.id.startsWith(q)) {
    return false;
  }
  if (!STATE_TEST[query.state](c)) return false;
  if (query.stack && (c.labels[STACK_LABEL] ?? "") !== query.stack) return false;
  if (query.team && (c.labels[TEAM_LABEL] ?? "") !== query.team) return false;
  if (query.label) {
    const eq = query.label.indexOf("=");
    const key = eq < 0 ? query.label : query.label.slice(0, eq);
    if (!(key in c.labels)) return false;
    if (eq >= 0 && c.labels[key] !== query.label.slice(eq + 1)) return false;
  }
  return true;
}

/** Live figures by container id, for the CPU and memory columns. */
export type Figures = ReadonlyMap<string, { cpu: number; mem: number }>;

export function compare(query: ListQuery, figures: Figures): (a: ContainerItem, b: ContainerItem) => number {
  const key: Record<SortKey, (c: ContainerItem) => string | number> = {
    name: (c) => c.name,
    state: (c) => c.state,
    image: (c) => c.image,
    created: (c) => c.created,
    cpu: (c) => figures.get(c.id)?.cpu ?? -1,
    mem: (c) => figures.get(c.id)?.mem ?? -1,
  };
  const of = key[query.sort];
  const sign = query.desc ? -1 : 1;
  const live = query.sort === "cpu" || query.sort === "mem";
  return (a, b) => {
    // Without figures (not running): below every running one, whatever the direction.
    if (live && figures.has(a.id) !== figures.has(b.id)) return figures.has(a.id) ? -1 : 1;
    const x = of(a);
    const y = of(b);
    const byKey = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return byKey !== 0 ? sign * byKey : a.name.localeCompare(b.name);
  };
}

export interface Group {
  /** the compose project, or "" for containers of none */
  stack: string;
  containers: ContainerItem[];
}

/** Containers by compose project, projects by name, the ungrouped last. */
export function groupByStack(list: ContainerItem[]): Group[] {
  const groups = new Map<string, ContainerItem[]>();
  for (const c of list) {
    const stack = c.labels[STACK_LABEL] ?? "";
    groups.set(stack, [...(groups.get(stack) ?? []), c]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)))
    .map(([stack, containers]) => ({ stack, containers }));
}

/** The values a label takes across the list, for the filter's choices. */
export function labelValues(list: ContainerItem[], label: string): string[] {
  return [...new Set(list.map((c) => c.labels[label]).filter((v): v is string => v !== undefined))].sort();
}
