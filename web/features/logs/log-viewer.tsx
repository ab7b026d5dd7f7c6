import { Component, type ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { forEachLine, type LogBatch, microsToEngineTime, toMicros } from "../../../src/protocol/log-batch.ts";
import { topic as topicName } from "../../../src/protocol/topics.ts";
import type { LogLine } from "../../../src/protocol/views.ts";
import { useStream } from "../../app/contexts.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { CheckField } from "../../ui/check-field.tsx";
import { parseAnsi, type Run } from "./ansi.ts";
import { type Filter, FilteredIds, LogStore, type NewLine, shortNames } from "./log-store.ts";

export interface LogSource {
  id: string;
  name: string;
}

interface Props {
  env: string;
  sources: LogSource[];
  /** Changes when a container starts again, to follow its new output after an `end`. */
  runKey?: unknown;
  /** False while hidden behind another tab. */
  active: boolean;
}

/** px: one unwrapped row (.lv-row's height) */
const ROW = 18;
const OVERSCAN = 30;
/** How close to the bottom (px) still counts as "at the bottom". */
const SLACK = 24;
const FIRST_TAIL = 1000;
const OLDER_PAGE = 2000;
/** A time range shows at most the last this many lines of each container in it (the API's bound). */
const RANGE_TAIL = 100_000;
const MAX_HIGHLIGHTS = 200;

const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
});
const dated = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
});

type Range = { since: string; until: string };

function toNewLines(lines: LogLine[], source: number): NewLine[] {
  return lines.map((l) => ({ us: toMicros(l.time), text: l.text, source, stderr: l.stream === "stderr" }));
}

function logsUrl(env: string, id: string, params: Record<string, string>): string {
  return `/envs/${encodeURIComponent(env)}/containers/${encodeURIComponent(id)}/logs?${new URLSearchParams(params)}`;
}

/** Several containers' lines in one time order (each list already is). */
function mergeSorted(lists: NewLine[][]): NewLine[] {
  const all = lists.flat();
  if (lists.length > 1) all.sort((a, b) => a.us - b.us);
  return all;
}

function searchRegex(query: string, regex: boolean): RegExp | string | null {
  if (!query) return null;
  try {
    return new RegExp(regex ? query : query.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  } catch (err) {
    return `Not a valid regular expression: ${errorMessage(err)}`;
  }
}

/**
 * A Dozzle-class log view of one container or several merged by time: only the rows in sight are in
 * the page (a 200,000-line log costs what 60 rows cost), lines come batched from the `logs:` topic,
 * older ones load on scrolling up, and log text only ever becomes text nodes.
 */
export function LogViewer({ env, sources, runKey, active }: Props) {
  const stream = useStream();
  const store = useMemo(() => new LogStore(), []);
  const visibleIds = useMemo(() => new FilteredIds(), []);
  const matchIds = useMemo(() => new FilteredIds(), []);
  const box = useRef<HTMLDivElement>(null);
  const [, setTick] = useState(0);
  const [status, setStatus] = useState<"loading" | "ready">("loading");
  const [notes, setNotes] = useState<string[]>([]);
  const [following, setFollowing] = useState(true);
  const followRef = useRef(true);
  const pausedAt = useRef(0);
  const [scroll, setScroll] = useState({ top: 0, height: 600, width: 800 });
  const [query, setQuery] = useState("");
  const [regex, setRegex] = useState(false);
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [streamFilter, setStreamFilter] = useState<Filter["stream"]>("all");
  const [hidden, setHidden] = useState<Set<number>>(new Set());
  const [showTime, setShowTime] = useState(true);
  const [showDate, setShowDate] = useState(false);
  const [wrap, setWrap] = useState(false);
  const [range, setRange] = useState<Range | null>(null);
  const [draft, setDraft] = useState<Range>({ since: "", until: "" });
  const [current, setCurrent] = useState(-1);
  const [older, setOlder] = useState<"idle" | "loading" | "start">("idle");
  const atStart = useRef<boolean[]>([]);
  const jumpTo = useRef<number | null>(null);
  const anchor = useRef<{ us: number; text: string; meta: number; offset: number } | null>(null);
  const charWidth = useRef(7.2);
  const sourceKey = sources.map((s) => s.id).join(",");
  const short = useMemo(() => shortNames(sources.map((s) => s.name)), [sources]);

  const bump = useMemo(() => {
    let raf = 0;
    return () => {
      if (!raf)
        raf = requestAnimationFrame(() => {
          raf = 0;
          setTick((n) => n + 1);
        });
    };
  }, []);

  // The lines: the last ones read over REST, then the topic's frames (or a fixed time range).
  useEffect(() => {
    let live = true;
    store.clear();
    setStatus("loading");
    setNotes([]);
    setOlder("idle");
    atStart.current = sources.map(() => false);
    const newest = sources.map(() => 0);
    const waiting: NewLine[][] = sources.map(() => []);
    let ready = false;
    const note = (text: string) => live && setNotes((n) => [...n, text]);
    const add = (s: number, lines: NewLine[], resent: boolean) => {
      // A (re)subscription starts with the recent tail: only what is newer than what is held.
      const fresh = resent ? lines.filter((l) => l.us > newest[s]!) : lines;
      if (!fresh.length) return;
      newest[s] = Math.max(newest[s]!, fresh[fresh.length - 1]!.us);
      store.insert(fresh);
      bump();
    };
    const unsubscribe = range
      ? []
      : sources.map((src, s) =>
          stream.subscribe(topicName.logs(env, src.id), (kind, data, first) => {
            if (kind === "lines") {
              const lines: NewLine[] = [];
              forEachLine(data as LogBatch, (text, us, stderr) =>
                lines.push({ us, text, source: s, stderr }),
              );
              if (!ready) {
                for (const l of lines) waiting[s]!.push(l);
              } else add(s, lines, first);
            } else if (kind === "end") {
              const reason = (data as { reason?: string } | null)?.reason;
              note(`${src.name}: log stream ended${reason ? `: ${reason}` : ""}.`);
            } else if (kind === "error") {
              note(
                `${src.name}: ${(data as { message?: string } | null)?.message ?? "logs are not available"}.`,
              );
            }
          }),
        );
    const params: Record<string, string> = range
      ? {
          tail: String(RANGE_TAIL),
          timestamps: "1",
          ...(range.since ? { since: new Date(range.since).toISOString() } : {}),
          ...(range.until ? { until: new Date(range.until).toISOString() } : {}),
        }
      : { tail: String(FIRST_TAIL), timestamps: "1" };
    void Promise.all(
      sources.map((src, s) =>
        api<LogLine[]>("GET", logsUrl(env, src.id, params)).then(
          (lines) => {
            if (lines.length < Number(params.tail)) atStart.current[s] = true;
            return toNewLines(lines, s);
          },
          (err) => {
            note(`${src.name}: ${errorMessage(err)}`);
            atStart.current[s] = true;
            return [];
          },
        ),
      ),
    ).then((lists) => {
      if (!live) return;
      for (const [s, lines] of lists.entries()) newest[s] = lines.at(-1)?.us ?? 0;
      store.insert(mergeSorted(lists));
      ready = true;
      for (const [s, lines] of waiting.entries()) add(s, lines, true);
      setStatus("ready");
      bump();
    });
    return () => {
      live = false;
      for (const u of unsubscribe) u();
    };
  }, [env, sourceKey, range, runKey, stream]);

  const search = useMemo(() => searchRegex(query, regex), [query, regex]);
  const re = search instanceof RegExp ? search : null;
  const sourcesShown = hidden.size ? new Set(sources.map((_, i) => i).filter((i) => !hidden.has(i))) : null;
  const filter: Filter = { stream: streamFilter, search: onlyMatches ? re : null, sources: sourcesShown };
  const identity = filter.stream === "all" && !filter.search && !filter.sources;
  const visible = identity ? null : visibleIds.update(store, filter);
  const count = visible ? visible.ids.length - visible.head : store.length;
  const idAt = (i: number) => (visible ? visible.ids[visible.head + i]! : store.start + i);
  const found = re ? matchIds.update(store, { ...filter, search: re }) : null;
  const matchCount = found ? found.ids.length - found.head : 0;

  // Row positions: fixed rows, or (wrapped) as many rows as the line needs at this width.
  const timeChars = showTime ? (showDate ? 25 : 14) : 0;
  const tagChars = sources.length > 1 ? Math.max(...short.map((n) => Math.min(n.length, 24))) + 2 : 0;
  const cols = Math.max(20, Math.floor((scroll.width - 24) / charWidth.current) - timeChars - tagChars);
  let tops: Float64Array | null = null;
  if (wrap) {
    tops = new Float64Array(count + 1);
    for (let i = 0; i < count; i++) {
      const n = store.text[idAt(i) - store.start]!.length;
      tops[i + 1] = tops[i]! + ROW * Math.max(1, Math.ceil(n / cols));
    }
  }
  const topOf = (i: number) => (tops ? tops[i]! : i * ROW);
  const total = topOf(count);
  const indexAt = (y: number) => {
    if (!tops) return Math.floor(y / ROW);
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tops[mid]! <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const positionOf = (id: number) => {
    if (!visible) return id - store.start;
    let lo = visible.head;
    let hi = visible.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = visible.ids[mid]!;
      if (v === id) return mid - visible.head;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return Math.max(0, lo - visible.head);
  };

  const viewTop = following ? Math.max(0, total - scroll.height) : scroll.top;
  const first = Math.max(0, indexAt(viewTop) - OVERSCAN);
  const last = Math.min(count, indexAt(viewTop + scroll.height) + OVERSCAN);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || !active) return;
    if (jumpTo.current !== null) {
      el.scrollTop = Math.max(0, topOf(positionOf(jumpTo.current)) - el.clientHeight / 2);
      jumpTo.current = null;
    } else if (anchor.current) {
      const a = anchor.current;
      anchor.current = null;
      const i = findLine(store, a.us, a.text, a.meta);
      if (i >= 0) el.scrollTop = topOf(positionOf(store.start + i)) + a.offset;
    } else if (followRef.current) el.scrollTop = el.scrollHeight;
  });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const probe = document.createElement("span");
    probe.className = "lv-probe";
    probe.textContent = "0".repeat(100);
    el.append(probe);
    charWidth.current = probe.getBoundingClientRect().width / 100 || 7.2;
    probe.remove();
    const measure = () => setScroll((s) => ({ ...s, height: el.clientHeight, width: el.clientWidth }));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const follow = (on: boolean) => {
    followRef.current = on;
    setFollowing(on);
    if (!on) pausedAt.current = store.length;
  };

  const loadOlder = async () => {
    if (older !== "idle" || range || atStart.current.every(Boolean)) return;
    setOlder("loading");
    const lists = await Promise.all(
      sources.map(async (src, s) => {
        if (atStart.current[s]) return [];
        let oldest = 0;
        for (let i = 0; i < store.length; i++)
          if (store.meta[i]! >> 1 === s) {
            oldest = store.us[i]!;
            break;
          }
        if (!oldest) {
          atStart.current[s] = true;
          return [];
        }
        const held = new Set<string>();
        for (let i = 0; i < store.length && store.us[i]! <= oldest; i++)
          if (store.meta[i]! >> 1 === s && store.us[i] === oldest) held.add(store.text[i]!);
        // The lines held at that microsecond come again (the bound is inclusive): asked for on top.
        const tail = OLDER_PAGE + held.size;
        try {
          const lines = await api<LogLine[]>(
            "GET",
            logsUrl(env, src.id, {
              tail: String(tail),
              until: microsToEngineTime(oldest, true),
              timestamps: "1",
            }),
          );
          if (lines.length < tail) atStart.current[s] = true;
          return toNewLines(lines, s).filter((l) => !(l.us === oldest && held.has(l.text)));
        } catch (err) {
          setNotes((n) => [...n, `${src.name}: ${errorMessage(err)}`]);
          atStart.current[s] = true;
          return [];
        }
      }),
    );
    const el = box.current;
    const top = el ? indexAt(el.scrollTop) : 0;
    if (el && top < count) {
      const i = idAt(top) - store.start;
      anchor.current = {
        us: store.us[i]!,
        text: store.text[i]!,
        meta: store.meta[i]!,
        offset: el.scrollTop - topOf(top),
      };
    }
    store.insert(mergeSorted(lists));
    setOlder(atStart.current.every(Boolean) ? "start" : "idle");
    bump();
  };

  const goToMatch = (step: number) => {
    if (!found || !matchCount) return;
    const next = ((((current < 0 && step < 0 ? 0 : current) + step) % matchCount) + matchCount) % matchCount;
    setCurrent(next);
    jumpTo.current = found.ids[found.head + next]!;
    follow(false);
  };
  const currentId =
    found && current >= 0 && current < matchCount ? found.ids[found.head + current] : undefined;

  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    const id = idAt(i);
    const at = id - store.start;
    const meta = store.meta[at]!;
    const us = store.us[at]!;
    const s = meta >> 1;
    rows.push(
      <Row
        key={id}
        text={store.text[at]!}
        us={us}
        timeMode={showTime ? (showDate ? 2 : 1) : 0}
        meta={meta}
        current={id === currentId}
        tag={sources.length > 1 ? (short[s] ?? "") : ""}
        title={sources[s]?.name ?? ""}
        tagWidth={tagChars - 1}
        re={re}
      />,
    );
  }

  const newLines = following ? 0 : store.length - pausedAt.current;
  const empty =
    status === "ready" && count === 0
      ? store.length === 0
        ? range
          ? "No log lines in this time range."
          : sources.length > 1
            ? "These containers have not written any log lines yet."
            : "This container has not written any log lines yet."
        : "No line matches the filter."
      : null;
  const streamParams = {
    stdout: streamFilter === "stderr" ? "0" : "1",
    stderr: streamFilter === "stdout" ? "0" : "1",
  };

  return (
    <div class={`lv${wrap ? " wrap" : ""}`} data-testid="log-viewer">
      <div class="lv-bar" role="toolbar" aria-label="Log view">
        <input
          type="search"
          name="log-search"
          placeholder="Search the log"
          aria-label="Search the log"
          value={query}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setCurrent(-1);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") goToMatch(e.shiftKey ? -1 : 1);
          }}
        />
        <label class="check">
          <input
            type="checkbox"
            name="regex"
            checked={regex}
            onChange={(e) => setRegex(e.currentTarget.checked)}
          />
          Regex
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="only-matches"
            checked={onlyMatches}
            onChange={(e) => setOnlyMatches(e.currentTarget.checked)}
          />
          Only matches
        </label>
        {re && (
          <span class="lv-count" data-testid="match-count">
            {matchCount ? `${current >= 0 ? current + 1 : "–"} of ${matchCount}` : "no match"}
            <button type="button" aria-label="Previous match" onClick={() => goToMatch(-1)}>
              ‹
            </button>
            <button type="button" aria-label="Next match" onClick={() => goToMatch(1)}>
              ›
            </button>
          </span>
        )}
        <select
          name="stream"
          aria-label="Streams"
          value={streamFilter}
          onChange={(e) => setStreamFilter(e.currentTarget.value as Filter["stream"])}
        >
          <option value="all">stdout + stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <CheckField label="Time" name="time" checked={showTime} onChecked={setShowTime} />
        <CheckField label="Date" name="date" checked={showDate} onChecked={setShowDate} />
        <CheckField label="Wrap" name="wrap" checked={wrap} onChecked={setWrap} />
        <button type="button" data-testid="follow" onClick={() => follow(!following)} disabled={!!range}>
          {following ? "Pause" : newLines > 0 ? `Follow (${newLines} new)` : "Follow"}
        </button>
        {sources.map((src) => (
          <a
            key={src.id}
            class="button"
            download
            href={`/api/v1${logsUrl(env, src.id, {
              tail: "all",
              timestamps: "1",
              format: "text",
              download: "1",
              ...streamParams,
              ...(range?.since ? { since: new Date(range.since).toISOString() } : {}),
              ...(range?.until ? { until: new Date(range.until).toISOString() } : {}),
            })}`}
          >
            Download{sources.length > 1 ? ` ${short[sources.indexOf(src)]}` : ""}
          </a>
        ))}
      </div>
      <form
        class="lv-bar"
        aria-label="Time range"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.since || draft.until) {
            follow(false);
            setRange({ ...draft });
          }
        }}
      >
        <label>
          Since{" "}
          <input
            type="datetime-local"
            step="1"
            name="since"
            value={draft.since}
            onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })}
          />
        </label>
        <label>
          Until{" "}
          <input
            type="datetime-local"
            step="1"
            name="until"
            value={draft.until}
            onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Show range</button>
        {range && (
          <button
            type="button"
            onClick={() => {
              setRange(null);
              setDraft({ since: "", until: "" });
              follow(true);
            }}
          >
            Back to live
          </button>
        )}
        {sources.length > 1 &&
          sources.map((src, s) => (
            <label key={src.id} class={`check lv-src s${s % 8}`}>
              <input
                type="checkbox"
                checked={!hidden.has(s)}
                onChange={(e) => {
                  const next = new Set(hidden);
                  if (e.currentTarget.checked) next.delete(s);
                  else next.add(s);
                  setHidden(next);
                }}
              />
              {short[s]}
            </label>
          ))}
      </form>
      {typeof search === "string" && (
        <p class="alert" role="alert">
          {search}
        </p>
      )}
      <div
        ref={box}
        class="lv-box"
        data-testid="logs"
        role="log"
        aria-busy={status === "loading"}
        data-lines={count}
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
          if (atBottom !== followRef.current && !range) follow(atBottom);
          setScroll({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
          if (el.scrollTop < ROW * 10 && count > 0) void loadOlder();
        }}
      >
        <div class="lv-space" style={{ height: `${total}px` }}>
          <div class="lv-rows" style={{ transform: `translateY(${topOf(first)}px)` }}>
            {rows}
          </div>
        </div>
        {status === "loading" && <p class="lv-empty">Loading…</p>}
        {empty && (
          <p class="lv-empty" data-testid="logs-empty">
            {empty}
          </p>
        )}
      </div>
      {older === "loading" && <p class="logs-note">Loading older lines…</p>}
      {notes.map((n) => (
        <p key={n} class="logs-note">
          {n}
        </p>
      ))}
    </div>
  );
}

interface RowProps {
  text: string;
  us: number;
  /** 0: no time, 1: the time of day, 2: date and time */
  timeMode: number;
  meta: number;
  current: boolean;
  tag: string;
  title: string;
  tagWidth: number;
  re: RegExp | null;
}

/**
 * One line. Scrolling shows new rows and drops others while most stay: those that stay with the
 * same props are not rendered again (their ANSI runs and marks are worked out once).
 */
class Row extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return (
      p.text !== next.text ||
      p.us !== next.us ||
      p.timeMode !== next.timeMode ||
      p.meta !== next.meta ||
      p.current !== next.current ||
      p.tag !== next.tag ||
      p.tagWidth !== next.tagWidth ||
      p.re !== next.re
    );
  }

  override render({ text, us, timeMode, meta, current, tag, title, tagWidth, re }: RowProps) {
    return (
      <div
        class={`lv-row${meta & 1 ? " err" : ""}${current ? " current" : ""}`}
        data-stream={meta & 1 ? "stderr" : "stdout"}
      >
        {tag && (
          <span class={`lv-src s${(meta >> 1) % 8}`} title={title} style={{ width: `${tagWidth}ch` }}>
            {tag}
          </span>
        )}
        {timeMode > 0 && us > 0 && <time>{(timeMode === 2 ? dated : clock).format(us / 1000)}</time>}
        <span class="lv-text">{lineText(text, re)}</span>
      </div>
    );
  }
}

/** Where a line is now (after lines went in around it), or -1. */
function findLine(store: LogStore, us: number, text: string, meta: number): number {
  let lo = 0;
  let hi = store.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (store.us[mid]! < us) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < store.length && store.us[i] === us; i++)
    if (store.text[i] === text && store.meta[i] === meta) return i;
  return -1;
}

function runNode(run: Run, text: string, mark: boolean): ComponentChildren {
  const inner = mark ? <mark>{text}</mark> : text;
  if (!run.cls && !run.fg && !run.bg) return inner;
  return (
    <span class={run.cls} style={run.fg || run.bg ? { color: run.fg, backgroundColor: run.bg } : undefined}>
      {inner}
    </span>
  );
}

/** A line's coloured runs, with what the search found marked. */
export function lineText(text: string, re: RegExp | null): ComponentChildren {
  const runs = parseAnsi(text);
  const plain = runs.length === 1 ? runs[0]!.text : runs.map((r) => r.text).join("");
  const ranges: [number, number][] = [];
  if (re) {
    re.lastIndex = 0;
    for (let m = re.exec(plain); m && ranges.length < MAX_HIGHLIGHTS; m = re.exec(plain)) {
      if (m[0].length === 0) re.lastIndex++;
      else ranges.push([m.index, m.index + m[0].length]);
    }
  }
  if (!ranges.length) return runs.map((r) => runNode(r, r.text, false));
  const out: ComponentChildren[] = [];
  let pos = 0;
  let ri = 0;
  for (const run of runs) {
    const end = pos + run.text.length;
    let at = pos;
    while (at < end) {
      while (ri < ranges.length && ranges[ri]![1] <= at) ri++;
      const r = ranges[ri];
      if (!r || r[0] >= end) {
        out.push(runNode(run, plain.slice(at, end), false));
        break;
      }
      if (r[0] > at) out.push(runNode(run, plain.slice(at, r[0]), false));
      const stop = Math.min(r[1], end);
      out.push(runNode(run, plain.slice(Math.max(at, r[0]), stop), true));
      at = stop;
    }
    pos = end;
  }
  return out;
}
