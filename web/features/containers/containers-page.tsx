import { useMemo, useState } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { useNow } from "../../lib/clock.ts";
import { useLiveCollection } from "../../lib/live.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { ContainerRow } from "./container-row.tsx";
import { useUpdates } from "./updates.tsx";

type Filter = "all" | "running" | "stopped" | "paused";

const FILTERS: Record<Filter, (state: string) => boolean> = {
  all: () => true,
  running: (s) => s === "running",
  stopped: (s) => s === "exited" || s === "created" || s === "dead",
  paused: (s) => s === "paused",
};

// Outside the component so the search survives a visit to a container's page and back.
const remembered: { query: string; filter: Filter } = { query: "", filter: "all" };

function matches(c: ContainerItem, q: string): boolean {
  return !q || c.name.toLowerCase().includes(q) || c.image.toLowerCase().includes(q) || c.id.startsWith(q);
}

const byName = (a: ContainerItem, b: ContainerItem) => a.name.localeCompare(b.name);

export function ContainersPage() {
  const live = useLiveContainers();
  const updates = useUpdates();
  const [query, setQuery] = useState(remembered.query);
  const [filter, setFilter] = useState(remembered.filter);
  const now = useNow(30_000);
  const env = useEnv();
  // Creating is for operators and admins; the server checks what they ask for.
  const canCreate = useUser().role !== "viewer" && env.view?.capabilities?.create !== false;
  const all = live.list;
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (all ?? []).filter((c) => FILTERS[filter](c.state) && matches(c, q)).sort(byName);
  }, [all, query, filter]);

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Containers</h1>
        <input
          type="search"
          data-testid="search"
          placeholder="Search name, image, id"
          aria-label="Search containers"
          value={query}
          onInput={(e) => {
            remembered.query = e.currentTarget.value;
            setQuery(remembered.query);
          }}
        />
        <select
          data-testid="state-filter"
          aria-label="Filter by state"
          value={filter}
          onChange={(e) => {
            remembered.filter = e.currentTarget.value as Filter;
            setFilter(remembered.filter);
          }}
        >
          <option value="all">All states</option>
          <option value="running">Running</option>
          <option value="stopped">Stopped</option>
          <option value="paused">Paused</option>
        </select>
        {all && (
          <span class="count muted" data-testid="count">
            {shown.length === all.length ? `${all.length}` : `${shown.length} of ${all.length}`}{" "}
            {all.length === 1 ? "container" : "containers"}
          </span>
        )}
        {canCreate && (
          <a
            class="button primary"
            href={envHref({ page: "create", env: env.id })}
            data-testid="new-container"
          >
            New container
          </a>
        )}
      </div>
      {live.error && (
        <p class="alert" role="alert">
          {live.error}
        </p>
      )}
      {!all && !live.error && <p class="muted">Loading…</p>}
      {all && shown.length === 0 && (
        <p class="empty muted">{all.length === 0 ? "No containers yet." : "No container matches."}</p>
      )}
      {shown.length > 0 && (
        <table class="list">
          <TableHead columns={["State", "Name", "Image", "Status", "Ports"]} actions />
          <tbody>
            {shown.map((c) => (
              <ContainerRow key={c.id} container={c} now={now} update={updates.get(c.id)} />
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

/** The current environment's containers, kept live; the list and a container's page share them. */
export function useLiveContainers() {
  return useLiveCollection<ContainerItem>(topic.containers(useEnv().id));
}
