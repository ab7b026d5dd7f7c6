/**
 * Graphs of a container's (or the host's) figures over time, drawn by uPlot. This module and uPlot
 * load only when a page shows graphs: they are kept out of the first load.
 */
import "./stats-panel.css";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "file" };
import { HISTORY_RANGES, type HistoryRange } from "../../../src/protocol/history.ts";
import { toView } from "../../../src/protocol/stats-frames.ts";
import { useEnv } from "../../app/contexts.ts";
import { ApiError, errorMessage } from "../../lib/api.ts";
import { formatBytes, formatRate } from "../../lib/units.ts";
import { appendSample, type Columns, emptyColumns, fetchHistory, toColumns, trimColumns } from "./history.ts";
import { sourceText, useHost, useStats } from "./stats.ts";

/** uPlot's stylesheet, as a file of its own next to this chunk; graphs are made once it applies. */
export const ready = new Promise<void>((resolve) => {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = uplotCss;
  link.onload = () => resolve();
  link.onerror = () => resolve();
  document.head.append(link);
});

type Range = "live" | HistoryRange;
const RANGES: { value: Range; label: string }[] = [
  { value: "live", label: "Live" },
  { value: "15m", label: "15m" },
  { value: "1h", label: "1h" },
  { value: "6h", label: "6h" },
  { value: "24h", label: "24h" },
  { value: "7d", label: "7d" },
  { value: "30d", label: "30d" },
];

/** Live graphs show this much, as the 15-minute history they start from does. */
const LIVE_SECONDS = 15 * 60;
/** A live graph with less to show narrows its time axis down to this. */
const LIVE_MIN_SECONDS = 120;
/** Whatever the interval, a live graph keeps at most this many points. */
const LIVE_MAX_POINTS = 2000;

type GraphKey = "cpu" | "mem" | "net" | "blk";
type Unit = "percent" | "bytes" | "rate";

interface GraphDef {
  key: GraphKey;
  title: string;
  unit: Unit;
  /** Column in Columns.v, and the CSS custom property holding its colour. */
  series: { label: string; col: number; color: string }[];
}

const GRAPHS: Record<GraphKey, GraphDef> = {
  cpu: { key: "cpu", title: "CPU", unit: "percent", series: [{ label: "CPU", col: 0, color: "--g-cpu" }] },
  mem: { key: "mem", title: "Memory", unit: "bytes", series: [{ label: "Used", col: 1, color: "--g-mem" }] },
  net: {
    key: "net",
    title: "Network",
    unit: "rate",
    series: [
      { label: "↓ In", col: 2, color: "--g-rx" },
      { label: "↑ Out", col: 3, color: "--g-tx" },
    ],
  },
  blk: {
    key: "blk",
    title: "Block I/O",
    unit: "rate",
    series: [
      { label: "Read", col: 4, color: "--g-read" },
      { label: "Write", col: 5, color: "--g-write" },
    ],
  },
};

// Outside the components: the range chosen stays chosen from one container's page to the next.
const remembered: { range: Range } = { range: "live" };

/** Time-aligned figures for one id: history for the range, then (live) each tick appended. */
function useSeries(env: string, id: string, range: Range) {
  const cols = useRef<Columns>(emptyColumns());
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<{ loading: boolean; note: string | null; error: string | null }>({
    loading: true,
    note: null,
    error: null,
  });
  const loadedAt = useRef(Date.now() / 1000);
  // Ticks that arrive while the history loads wait here, to go after it.
  const live = useRef<{ on: boolean; loaded: boolean; early: [number, (number | null)[] | null][] }>({
    on: false,
    loaded: false,
    early: [],
  });

  useEffect(() => {
    const mode = { on: range === "live", loaded: false, early: [] as [number, (number | null)[] | null][] };
    live.current = mode;
    cols.current = emptyColumns();
    setState({ loading: true, note: null, error: null });
    setVersion((n) => n + 1);
    let cancelled = false;
    loadedAt.current = Date.now() / 1000;
    const done = (c: Columns, note: string | null, error: string | null) => {
      if (mode.on) {
        const last = c.t.at(-1) ?? 0;
        for (const [t, values] of mode.early) if (t > last) appendSample(c, t, values);
        mode.early = [];
        mode.loaded = true;
      }
      cols.current = c;
      setState({ loading: false, note, error });
      setVersion((n) => n + 1);
    };
    fetchHistory(env, id, range === "live" ? "15m" : range).then(
      (answer) => !cancelled && done(toColumns(answer), null, null),
      (err) => {
        if (cancelled) return;
        // 404: nothing recorded for this id in the range yet (a container just started, or a panel
        // just installed). Live graphs then start from now.
        const none = err instanceof ApiError && err.status === 404;
        const failed = `The history could not be loaded: ${errorMessage(err)}`;
        if (mode.on) done(emptyColumns(), none ? "No history yet: the graphs start now." : failed, null);
        else if (none) done(emptyColumns(), "Nothing recorded in this range yet.", null);
        else done(emptyColumns(), null, failed);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [env, id, range]);

  /** One tick's figures in Columns order, or null while the container is not running. */
  const push = (values: (number | null)[] | null) => {
    const mode = live.current;
    if (!mode.on) return;
    const t = Date.now() / 1000;
    if (!mode.loaded) {
      mode.early.push([t, values]);
      return;
    }
    const c = cols.current;
    if (t <= (c.t.at(-1) ?? 0)) return;
    appendSample(c, t, values);
    trimColumns(c, t - LIVE_SECONDS, LIVE_MAX_POINTS);
    setVersion((n) => n + 1);
  };

  // The x axis spans the whole range asked for: live, up to the newest tick; else up to when it loaded.
  const span = range === "live" ? LIVE_SECONDS : HISTORY_RANGES[range];
  return {
    cols: cols.current,
    version,
    ...state,
    push,
    span,
    end: range === "live" ? null : loadedAt.current,
  };
}

interface ContainerProps {
  /** Full container id. */
  id: string;
}

export function ContainerStats({ id }: ContainerProps) {
  const env = useEnv().id;
  const [range, setRange] = useState<Range>(remembered.range);
  const series = useSeries(env, id, range);
  const [meta, setMeta] = useState<{ source: string; interval: number; limit: number } | null>(null);
  const liveError = useStats((table) => {
    let view = null;
    for (const row of table.rows.values()) {
      if (row.id === id) {
        view = toView(row);
        break;
      }
    }
    series.push(
      view && [
        view.cpu_percent,
        view.mem_usage,
        view.net_rx_rate,
        view.net_tx_rate,
        view.blk_read_rate,
        view.blk_write_rate,
      ],
    );
    const limit = view?.mem_limit ?? meta?.limit ?? 0;
    if (meta?.source !== table.source || meta.interval !== table.interval || meta.limit !== limit)
      setMeta({ source: table.source, interval: table.interval, limit });
  });
  return (
    <Panel
      graphs={[GRAPHS.cpu, GRAPHS.mem, GRAPHS.net, GRAPHS.blk]}
      series={series}
      range={range}
      onRange={setRange}
      limit={meta?.limit}
      limitLabel="limit"
      sync={`stats-${id}`}
      liveError={liveError}
      footnote={meta ? sourceText(meta.source, meta.interval) : null}
    />
  );
}

export function HostStats() {
  const env = useEnv().id;
  const [range, setRange] = useState<Range>(remembered.range);
  const series = useSeries(env, "host", range);
  const host = useHost((f) =>
    series.push([f.cpu_percent, f.mem_used, f.net_rx_rate, f.net_tx_rate, null, null]),
  );
  if (host.unavailable) return <p class="muted">{host.unavailable}</p>;
  const ncpu = host.figures?.ncpu;
  return (
    <Panel
      graphs={[
        { ...GRAPHS.cpu, title: ncpu ? `CPU (${ncpu} CPU${ncpu === 1 ? "" : "s"})` : "CPU" },
        { ...GRAPHS.mem, title: "Memory" },
        GRAPHS.net,
      ]}
      series={series}
      range={range}
      onRange={setRange}
      limit={host.figures?.mem_total}
      sync="stats-host"
      liveError={null}
      limitLabel="total"
      footnote="Host figures from /proc and the file systems, read at each stats tick."
    />
  );
}

interface PanelProps {
  graphs: GraphDef[];
  series: ReturnType<typeof useSeries>;
  range: Range;
  onRange: (r: Range) => void;
  limit: number | undefined;
  limitLabel: string;
  sync: string;
  liveError: string | null;
  footnote: string | null;
}

function Panel({ graphs, series, range, onRange, limit, limitLabel, sync, liveError, footnote }: PanelProps) {
  return (
    <div class="stats">
      <div class="stats-bar">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {RANGES.map((r) => (
            <button
              key={r.value}
              type="button"
              data-range={r.value}
              aria-pressed={r.value === range}
              onClick={() => {
                remembered.range = r.value;
                onRange(r.value);
              }}
            >
              {r.value === "live" && <span class="live-dot" aria-hidden="true" />}
              {r.label}
            </button>
          ))}
        </fieldset>
        {series.loading && <span class="muted">Loading…</span>}
        {series.note && <span class="muted">{series.note}</span>}
      </div>
      {series.error && (
        <p class="alert" role="alert">
          {series.error}
        </p>
      )}
      {liveError && range === "live" && (
        <p class="alert" role="alert">
          Live figures are not available: {liveError}
        </p>
      )}
      <div class="graphs">
        {graphs.map((def) => (
          <Graph
            key={def.key}
            def={def}
            cols={series.cols}
            version={series.version}
            limit={def.key === "mem" ? limit : undefined}
            limitLabel={limitLabel}
            sync={sync}
            span={series.span}
            end={series.end}
          />
        ))}
      </div>
      {footnote && (
        <p class="source muted" data-testid="stats-source">
          {footnote}
        </p>
      )}
    </div>
  );
}

interface GraphProps {
  def: GraphDef;
  cols: Columns;
  version: number;
  /** Memory only: drawn as a dashed line when it is near enough the figures to mean something. */
  limit: number | undefined;
  limitLabel: string;
  sync: string;
  /** Seconds the x axis spans, ending at `end` (unix seconds) or, when null, at the newest figure. */
  span: number;
  end: number | null;
}

function Graph({ def, cols, version, limit, limitLabel, sync, span, end }: GraphProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const scale = useRef({ limit, span, end });
  scale.current = { limit, span, end };

  useEffect(() => {
    const el = box.current!;
    const width = Math.max(el.clientWidth, 160);
    const u = new uPlot(options(def, el, width, scale, setHover, sync), dataOf(def, cols), el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== u.width) u.setSize({ width: w, height: heightFor(w) });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // cols is read for the first drawing only; later data comes with `version`.
  }, [def, sync]);

  useEffect(() => {
    plot.current?.setData(dataOf(def, cols));
  }, [def, cols, version]);

  useEffect(() => {
    plot.current?.redraw();
  }, [limit]);

  const idx = hover ?? lastIndex(def, cols);
  const t = hover === null ? undefined : cols.t[hover];
  const fmt = formatter(def.unit);
  const showLimit = def.key === "mem" && limit !== undefined && limit > 0;
  return (
    <section
      class="graph"
      data-testid={`graph-${def.key}`}
      data-points={cols.t.length}
      aria-label={def.title}
    >
      <header class="graph-head">
        <h2>{def.title}</h2>
        <span class="graph-values">
          {t !== undefined && <span class="graph-value muted">{timeText(t, span > 86400)}</span>}
          {idx === null ? (
            <span class="graph-value muted">No figures yet</span>
          ) : (
            def.series.map((s) => {
              const v = cols.v[s.col]?.[idx];
              return (
                <span key={s.col} class="graph-value">
                  <span class={`dot ${s.color.slice(2)}`} aria-hidden="true" />
                  {def.series.length > 1 && <span class="muted">{s.label} </span>}
                  <b>{v === null || v === undefined ? "—" : fmt(v)}</b>
                </span>
              );
            })
          )}
          {showLimit && (
            <span class="graph-value muted">
              {limitLabel} {formatBytes(limit)}
            </span>
          )}
        </span>
      </header>
      <div class="graph-plot" ref={box} />
    </section>
  );
}

function dataOf(def: GraphDef, cols: Columns): uPlot.AlignedData {
  return [cols.t, ...def.series.map((s) => cols.v[s.col] ?? [])];
}

function lastIndex(def: GraphDef, cols: Columns): number | null {
  for (let i = cols.t.length - 1; i >= 0; i--) {
    if (def.series.some((s) => cols.v[s.col]?.[i] != null)) return i;
  }
  return null;
}

function heightFor(width: number): number {
  return width < 480 ? 150 : 190;
}

function formatter(unit: Unit): (v: number) => string {
  if (unit === "percent") return (v) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)}%`;
  if (unit === "rate") return formatRate;
  return formatBytes;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

const tickTime = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const tickDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** One line per tick: the date for steps of days, else the time of day. */
function timeTick(t: number, incr: number): string {
  const ms = t * 1000;
  if (incr >= 86400) return tickDay.format(ms);
  if (incr < 60) return timeFormat.format(ms);
  // Midnight on an hourly axis says which day begins.
  const d = new Date(ms);
  if (incr >= 3600 && d.getHours() === 0 && d.getMinutes() === 0) return tickDay.format(ms);
  return tickTime.format(ms);
}

/** Axis labels: as formatBytes, without the trailing zeros ("1 MiB", not "1.00 MiB"). */
function axisBytes(v: number): string {
  return formatBytes(v)
    .replace(/(\.\d*?)0+ /, "$1 ")
    .replace(/\. /, " ");
}

function timeText(t: number, long: boolean): string {
  return (long ? dateTimeFormat : timeFormat).format(t * 1000);
}

/** Tick steps for byte axes: 1, 2, 4 … 512 times each power of 1024, so labels read "512 KiB", "2 MiB". */
const BYTE_INCRS = [0, 1, 2, 3, 4].flatMap((p) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** p),
);

function yRange(unit: Unit, max: number | null, limit: number | undefined): uPlot.Range.MinMax {
  const top = max && max > 0 ? max * 1.15 : 0;
  if (unit === "percent") return [0, Math.max(top, 1)];
  if (unit === "rate") return [0, Math.max(top, 1024)];
  // Memory: the limit joins the scale when it is close enough to be worth seeing.
  let hi = Math.max(top, 1024 * 1024);
  if (limit && limit > 0 && limit <= Math.max(max ?? 0, 1) * 3) hi = Math.max(hi, limit * 1.05);
  return [0, hi];
}

function options(
  def: GraphDef,
  el: HTMLElement,
  width: number,
  scale: { current: { limit: number | undefined; span: number; end: number | null } },
  onHover: (idx: number | null) => void,
  sync: string,
): uPlot.Options {
  const css = getComputedStyle(el);
  const color = (name: string) => resolvedColor(el, name);
  const muted = color("--muted");
  const grid = color("--grid");
  const font = `11px ${css.fontFamily}`;
  const fmt = def.unit === "percent" ? (v: number) => `${+v.toFixed(2)}%` : axisBytes;
  const axis = {
    stroke: muted,
    font,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1, size: 4 },
  };
  return {
    width,
    height: heightFor(width),
    padding: [10, 12, 0, 0],
    legend: { show: false },
    cursor: {
      // Hovering one graph points at the same moment in the others; a level line would mean nothing there.
      y: false,
      sync: { key: sync },
      drag: { x: false, y: false, setScale: false },
      points: { size: 7 },
    },
    scales: {
      x: {
        time: true,
        range: (_u, min, max) => {
          const { span, end } = scale.current;
          if (end !== null) return [end - span, end];
          // Live: the last 15 minutes, or less while there is less to show (a container or a panel
          // just started), never under two minutes.
          const to = Number.isFinite(max) && max > 0 ? max : Date.now() / 1000;
          const from = Number.isFinite(min) && min > 0 ? Math.min(min, to - LIVE_MIN_SECONDS) : to - span;
          return [Math.max(from, to - span), to];
        },
      },
      y: { range: (_u, _min, max) => yRange(def.unit, max, scale.current.limit) },
    },
    axes: [
      {
        ...axis,
        space: 80,
        size: 26,
        values: (_u, splits, _axis, _space, incr) => splits.map((t) => timeTick(t, incr)),
      },
      {
        ...axis,
        values: (_u, splits) => splits.map(fmt),
        incrs: def.unit === "percent" ? undefined : BYTE_INCRS,
        size: (_u, values) => (values ? Math.max(...values.map((v) => v.length)) * 6.5 + 14 : 40),
      },
    ],
    series: [
      {},
      ...def.series.map((s) => {
        const c = color(s.color);
        return { label: s.label, stroke: c, fill: `${c}24`, width: 1.5, points: { show: false } };
      }),
    ],
    hooks: {
      setCursor: [(u) => onHover(u.cursor.idx ?? null)],
      draw: [
        (u) => {
          const lim = scale.current.limit;
          if (def.key !== "mem" || !lim) return;
          const y = u.valToPos(lim, "y", true);
          const { left, top, width: w, height: h } = u.bbox;
          if (y < top || y > top + h) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = color("--danger");
          ctx.lineWidth = uPlot.pxRatio;
          ctx.setLineDash([5 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
          ctx.beginPath();
          ctx.moveTo(left, y);
          ctx.lineTo(left + w, y);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * A colour variable as the canvas can take it: the variables are light-dark() pairs, which only an
 * element's computed colour resolves (to rgb) for the theme in force.
 */
function resolvedColor(el: HTMLElement, name: string): string {
  const probe = document.createElement("span");
  probe.style.color = `var(${name})`;
  el.append(probe);
  const rgb = getComputedStyle(probe).color;
  probe.remove();
  return rgb || "#888";
}
