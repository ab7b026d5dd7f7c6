import "./top-page.css";
import { Component } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { StatsView } from "../../../src/protocol/stats-frames.ts";
import { useEnv } from "../../app/contexts.ts";
import { containerHref, envHref } from "../../app/route.ts";
import { cpuText, formatBytes, formatRate } from "../../lib/units.ts";
import { HostPanel } from "./host-panel.tsx";
import { Gauge, Sparkline, sparkPoints } from "./sparkline.tsx";
import { sourceText, useStats } from "./stats.ts";

type SortKey = "name" | "cpu" | "mem" | "net" | "blk" | "pids";

/** Values kept per container for its sparkline: about a minute at the default interval. */
const SPARK_SLOTS = 60;
/** A sparkline's scale reaches at least this CPU %, so a near-idle container's noise stays low. */
const SPARK_FLOOR = 10;

const COLUMNS: { key: SortKey; label: string; title: string }[] = [
  { key: "name", label: "Name", title: "Name" },
  { key: "cpu", label: "CPU", title: "CPU, % of one CPU" },
  { key: "mem", label: "Memory", title: "Memory in use / limit" },
  { key: "net", label: "Net ↓ / ↑", title: "Network received / sent per second" },
  { key: "blk", label: "Block r / w", title: "Block I/O read / written per second" },
  { key: "pids", label: "PIDs", title: "Processes and threads" },
];

const SORT_VALUE: Record<Exclude<SortKey, "name">, (v: StatsView) => number> = {
  cpu: (v) => v.cpu_percent,
  mem: (v) => v.mem_usage,
  net: (v) => v.net_rx_rate + v.net_tx_rate,
  blk: (v) => v.blk_read_rate + v.blk_write_rate,
  pids: (v) => v.pids,
};

// Outside the component so the filter and order survive a visit to a container's page and back.
const remembered: { query: string; sort: SortKey; desc: boolean } = { query: "", sort: "cpu", desc: true };

interface Snapshot {
  views: StatsView[];
  source: string;
  interval: number;
}

/** Every running container's figures, live, like `top`: the busiest first. */
export function TopPage() {
  const env = useEnv().id;
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [query, setQuery] = useState(remembered.query);
  const [sort, setSort] = useState({ key: remembered.sort, desc: remembered.desc });
  const cpuHistory = useRef(new Map<string, number[]>());

  const error = useStats((table) => {
    const views = table.views();
    const history = cpuHistory.current;
    const seen = new Set<string>();
    for (const v of views) {
      seen.add(v.id);
      const values = history.get(v.id) ?? [];
      history.set(v.id, values);
      values.push(v.cpu_percent);
      if (values.length > SPARK_SLOTS) values.shift();
    }
    for (const id of history.keys()) if (!seen.has(id)) history.delete(id);
    setSnap({ views, source: table.source, interval: table.interval });
  });

  useEffect(() => {
    document.title = "Overview · GhostPanel";
    return () => {
      document.title = "GhostPanel";
    };
  }, []);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const rows = (snap?.views ?? []).filter(
      (v) => !q || v.name.toLowerCase().includes(q) || v.id.startsWith(q),
    );
    const byName = (a: StatsView, b: StatsView) => a.name.localeCompare(b.name);
    const dir = sort.desc ? -1 : 1;
    if (sort.key === "name") return rows.sort((a, b) => dir * byName(a, b));
    const value = SORT_VALUE[sort.key];
    return rows.sort((a, b) => dir * (value(a) - value(b)) || byName(a, b));
  }, [snap, query, sort]);

  const sortBy = (key: SortKey, desc?: boolean) => {
    // A new column starts with its most telling order: names A–Z, figures largest first.
    const next = { key, desc: desc ?? (key === sort.key ? !sort.desc : key !== "name") };
    remembered.sort = next.key;
    remembered.desc = next.desc;
    setSort(next);
  };

  const all = snap?.views;
  const totalCpu = all?.reduce((n, v) => n + v.cpu_percent, 0) ?? 0;
  const totalMem = all?.reduce((n, v) => n + v.mem_usage, 0) ?? 0;
  return (
    <main class="page top-page">
      <HostPanel graphsHref={envHref({ page: "host", env })} />
      <div class="toolbar">
        <h1>Overview</h1>
        <input
          type="search"
          data-testid="top-filter"
          placeholder="Filter by name or id"
          aria-label="Filter containers"
          value={query}
          onInput={(e) => {
            remembered.query = e.currentTarget.value;
            setQuery(remembered.query);
          }}
        />
        <select
          class="sort-select"
          aria-label="Sort by"
          value={`${sort.key}:${sort.desc ? "desc" : "asc"}`}
          onChange={(e) => {
            const [key, dir] = e.currentTarget.value.split(":");
            sortBy(key as SortKey, dir === "desc");
          }}
        >
          <option value="cpu:desc">Busiest CPU first</option>
          <option value="mem:desc">Most memory first</option>
          <option value="net:desc">Most network first</option>
          <option value="blk:desc">Most disk I/O first</option>
          <option value="pids:desc">Most processes first</option>
          <option value="name:asc">Name A–Z</option>
        </select>
        {all && (
          <span class="count muted" data-testid="top-count">
            {shown.length === all.length ? all.length : `${shown.length} of ${all.length}`} running · CPU{" "}
            {cpuText(totalCpu)}% · {formatBytes(totalMem)}
          </span>
        )}
      </div>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {!snap && !error && <p class="muted">Loading…</p>}
      {all && shown.length === 0 && (
        <p class="empty muted">{all.length === 0 ? "No container is running." : "No container matches."}</p>
      )}
      {shown.length > 0 && (
        <table class="list top-list">
          <thead>
            <tr>
              {COLUMNS.map((col) => {
                const active = sort.key === col.key;
                return (
                  <th
                    key={col.key}
                    class={`t-${col.key}`}
                    aria-sort={active ? (sort.desc ? "descending" : "ascending") : undefined}
                  >
                    <button
                      type="button"
                      class="sort"
                      data-sort={col.key}
                      title={col.title}
                      onClick={() => sortBy(col.key)}
                    >
                      {col.label}
                      <span class="sort-arrow" aria-hidden="true">
                        {active ? (sort.desc ? "▼" : "▲") : ""}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {shown.map((v) => (
              <TopRow
                key={v.id}
                view={v}
                href={containerHref(env, v.id)}
                spark={sparkPoints(cpuHistory.current.get(v.id) ?? [], SPARK_SLOTS, SPARK_FLOOR)}
              />
            ))}
          </tbody>
        </table>
      )}
      {snap && (
        <p class="source muted" data-testid="stats-source">
          {sourceText(snap.source, snap.interval)}
        </p>
      )}
    </main>
  );
}

interface RowProps {
  view: StatsView;
  /** The container's page. */
  href: string;
  spark: string;
}

const FIELDS = [
  "name",
  "cpu_percent",
  "mem_usage",
  "mem_limit",
  "net_rx_rate",
  "net_tx_rate",
  "blk_read_rate",
  "blk_write_rate",
  "pids",
] as const;

/**
 * Every tick brings new view objects, but most containers' figures do not change from one to the
 * next: a row renders again only when what it shows does.
 */
class TopRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const a = this.props;
    return a.spark !== next.spark || a.href !== next.href || FIELDS.some((f) => a.view[f] !== next.view[f]);
  }

  override render({ view: v, href, spark }: RowProps) {
    const cpu = cpuText(v.cpu_percent);
    const memShare = v.mem_limit > 0 ? v.mem_usage / v.mem_limit : 0;
    return (
      <tr data-testid="top-row" data-name={v.name} data-cpu={cpu}>
        <td class="t-name">
          <a href={href} title={v.name}>
            {v.name}
          </a>
        </td>
        <td class="t-cpu" data-label="CPU">
          <div class="cpu-cell">
            <span class="num">{cpu}%</span>
            <Sparkline points={spark} label="CPU, last minute" />
          </div>
        </td>
        <td class="t-mem" data-label="Memory">
          <span class="num">{formatBytes(v.mem_usage)}</span>
          <span class="muted"> / {formatBytes(v.mem_limit)}</span>
          <Gauge fraction={memShare} label={`${(memShare * 100).toFixed(0)}% of the limit`} />
        </td>
        <td class="t-net" data-label="Network">
          <span class="pair">
            <i class="rx">↓</i>
            {formatRate(v.net_rx_rate)}
          </span>
          <span class="pair">
            <i class="tx">↑</i>
            {formatRate(v.net_tx_rate)}
          </span>
        </td>
        <td class="t-blk" data-label="Block I/O">
          <span class="pair">
            <i>r</i>
            {formatRate(v.blk_read_rate)}
          </span>
          <span class="pair">
            <i>w</i>
            {formatRate(v.blk_write_rate)}
          </span>
        </td>
        <td class="t-pids num" data-label="PIDs">
          {v.pids}
        </td>
      </tr>
    );
  }
}
