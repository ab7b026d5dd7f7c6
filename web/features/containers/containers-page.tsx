import { useCallback, useMemo, useRef, useState } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref, hashQuery, setHashQuery } from "../../app/route.ts";
import { useNow } from "../../lib/clock.ts";
import { useLiveCollection } from "../../lib/live.ts";
import { Icon } from "../../ui/icon.tsx";
import { useStats } from "../stats/stats.ts";
import { CREATE_ICON } from "./actions.ts";
import { BulkBar } from "./bulk-bar.tsx";
import { ContainerRow } from "./container-row.tsx";
import {
  compare,
  type Figures,
  groupByStack,
  type ListQuery,
  labelValues,
  matches,
  readQuery,
  type SortKey,
  STACK_LABEL,
  type StateFilter,
  TEAM_LABEL,
  writeQuery,
} from "./list-query.ts";
import { useUpdates } from "./updates.tsx";

const COLUMNS: { key: SortKey | null; label: string; class: string }[] = [
  { key: "state", label: "State", class: "c-state" },
  { key: "name", label: "Name", class: "c-name" },
  { key: "image", label: "Image", class: "c-image" },
  { key: "created", label: "Status", class: "c-status" },
  { key: "cpu", label: "CPU", class: "c-cpu" },
  { key: "mem", label: "Memory", class: "c-mem" },
  { key: null, label: "Ports", class: "c-ports" },
];

export function ContainersPage() {
  const live = useLiveContainers();
  const updates = useUpdates();
  const env = useEnv();
  const canAct = useUser().role !== "viewer";
  const canCreate = canAct && env.view?.capabilities?.create !== false;
  const [query, setQuery] = useState<ListQuery>(() => readQuery(hashQuery()));
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [figures, setFigures] = useState<Figures>(new Map());
  const now = useNow(30_000);
  // While the pointer is over the rows, a sort by live figures keeps its order: rows do not jump
  // from under the pointer. Moving out lets them settle.
  const [hovering, setHovering] = useState(false);
  const frozen = useRef<string[]>([]);

  useStats((table) => {
    const next = new Map<string, { cpu: number; mem: number }>();
    for (const v of table.views()) next.set(v.id, { cpu: v.cpu_percent, mem: v.mem_usage });
    setFigures(next);
  });

  const update = (change: Partial<ListQuery>) => {
    const next = { ...query, ...change };
    setQuery(next);
    setHashQuery(writeQuery(next));
  };

  const all = live.list;
  const shown = useMemo(() => {
    const list = (all ?? []).filter((c) => matches(c, query));
    const byLive = query.sort === "cpu" || query.sort === "mem";
    if (hovering && byLive && frozen.current.length) {
      const place = new Map(frozen.current.map((id, i) => [id, i]));
      list.sort(
        (a, b) => (place.get(a.id) ?? Number.MAX_SAFE_INTEGER) - (place.get(b.id) ?? Number.MAX_SAFE_INTEGER),
      );
    } else list.sort(compare(query, figures));
    frozen.current = list.map((c) => c.id);
    return list;
  }, [all, query, figures, hovering]);
  const visibleSelected = shown.filter((c) => selected.has(c.id));
  const stacks = useMemo(() => labelValues(all ?? [], STACK_LABEL), [all]);
  const teams = useMemo(() => labelValues(all ?? [], TEAM_LABEL), [all]);

  const toggle = useCallback((ids: string[], on: boolean) => {
    setSelected((selected) => {
      const next = new Set(selected);
      for (const id of ids) on ? next.add(id) : next.delete(id);
      return next;
    });
  }, []);
  const toggleOne = useCallback((id: string, on: boolean) => toggle([id], on), [toggle]);
  const sortBy = (key: SortKey) =>
    update({ sort: key, desc: query.sort === key ? !query.desc : key === "cpu" || key === "mem" });

  const rows = (list: ContainerItem[]) =>
    list.map((c) => (
      <ContainerRow
        key={c.id}
        container={c}
        now={now}
        figures={figures.get(c.id)}
        update={updates.get(c.id)}
        selectable={canAct}
        selected={selected.has(c.id)}
        onSelect={toggleOne}
      />
    ));

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Containers</h1>
        <input
          type="search"
          data-testid="search"
          placeholder="Search name, image, id  ( / )"
          aria-label="Search containers"
          value={query.q}
          onInput={(e) => update({ q: e.currentTarget.value })}
        />
        <select
          data-testid="state-filter"
          aria-label="Filter by state"
          value={query.state}
          onChange={(e) => update({ state: e.currentTarget.value as StateFilter })}
        >
          <option value="all">All states</option>
          <option value="running">Running</option>
          <option value="stopped">Stopped</option>
          <option value="paused">Paused</option>
          <option value="unhealthy">Unhealthy</option>
        </select>
        {(stacks.length > 0 || query.stack) && (
          <select
            data-testid="stack-filter"
            aria-label="Filter by stack"
            value={query.stack}
            onChange={(e) => update({ stack: e.currentTarget.value })}
          >
            <option value="">All stacks</option>
            {stacks.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
        {(teams.length > 0 || query.team) && (
          <select
            data-testid="team-filter"
            aria-label="Filter by team"
            value={query.team}
            onChange={(e) => update({ team: e.currentTarget.value })}
          >
            <option value="">All teams</option>
            {teams.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
        <input
          type="text"
          class="label-filter"
          data-testid="label-filter"
          aria-label="Filter by label (key or key=value)"
          placeholder="label=value"
          value={query.label}
          onInput={(e) => update({ label: e.currentTarget.value.trim() })}
        />
        <label class="check">
          <input
            type="checkbox"
            data-testid="group-toggle"
            checked={query.group}
            onChange={(e) => update({ group: e.currentTarget.checked })}
          />{" "}
          Group by stack
        </label>
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
            <Icon icon={CREATE_ICON} />
            New container
          </a>
        )}
      </div>
      {canAct && visibleSelected.length > 0 && (
        <BulkBar containers={visibleSelected} onDone={() => setSelected(new Set())} />
      )}
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
        <table class="list containers">
          <thead>
            <tr>
              {canAct && (
                <th class="c-select">
                  <input
                    type="checkbox"
                    aria-label="Select all shown"
                    data-testid="select-all"
                    checked={visibleSelected.length === shown.length}
                    onChange={(e) =>
                      toggle(
                        shown.map((c) => c.id),
                        e.currentTarget.checked,
                      )
                    }
                  />
                </th>
              )}
              {COLUMNS.map((col) => (
                <th
                  key={col.label}
                  class={col.class}
                  aria-sort={
                    col.key && query.sort === col.key ? (query.desc ? "descending" : "ascending") : undefined
                  }
                >
                  {col.key ? (
                    <button type="button" class="sort" data-sort={col.key} onClick={() => sortBy(col.key!)}>
                      {col.label}
                      {query.sort === col.key ? (query.desc ? " ↓" : " ↑") : ""}
                    </button>
                  ) : (
                    col.label
                  )}
                </th>
              ))}
              <th class="c-actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          {query.group ? (
            groupByStack(shown).map((g) => (
              <tbody
                key={g.stack}
                data-stack={g.stack}
                onPointerEnter={() => setHovering(true)}
                onPointerLeave={() => setHovering(false)}
              >
                <tr class="group-row" data-testid="group-row">
                  <th colSpan={COLUMNS.length + 2} scope="rowgroup">
                    <span>{g.stack || "No stack"}</span> <span class="muted">({g.containers.length})</span>
                    {canAct && g.stack && (
                      <BulkBar containers={g.containers} inline label={`stack ${g.stack}`} />
                    )}
                  </th>
                </tr>
                {rows(g.containers)}
              </tbody>
            ))
          ) : (
            <tbody onPointerEnter={() => setHovering(true)} onPointerLeave={() => setHovering(false)}>
              {rows(shown)}
            </tbody>
          )}
        </table>
      )}
    </main>
  );
}

/** The current environment's containers, kept live; the list and a container's page share them. */
export function useLiveContainers() {
  return useLiveCollection<ContainerItem>(topic.containers(useEnv().id));
}
