/**
 * An engine's JSON as a tree: every object and array folds, a search highlights its matches (keys
 * and values) and jumps between them, and the whole or any node copies as JSON. Engine data only
 * ever becomes text nodes: nothing of it is parsed as HTML.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { copyText } from "../../lib/clipboard.ts";
import { useToast } from "../../ui/toasts.tsx";

type Key = string | number;

/** `Config.Env[0]`: how a node is named in the page (data-path) and in messages. */
function pathOf(parent: string, key: Key): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

const isBranch = (v: unknown): v is Record<string, unknown> | unknown[] =>
  typeof v === "object" && v !== null;

const entriesOf = (v: Record<string, unknown> | unknown[]): [Key, unknown][] =>
  Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);

/** Leaves as JSON writes them: strings quoted, so a search for `"` finds them like the raw text would. */
const leafText = (v: unknown) => JSON.stringify(v) ?? String(v);

interface Found {
  /** each matching node's path, in the order the tree shows them */
  order: string[];
  /** every node holding a match below it: opened while the search stands */
  holders: Set<string>;
}

function find(root: unknown, query: string): Found {
  const order: string[] = [];
  const holders = new Set<string>();
  if (!query) return { order, holders };
  const hit = (text: string) => text.toLowerCase().includes(query);
  const walk = (value: unknown, key: Key | null, path: string, ancestors: string[]) => {
    const own =
      (key !== null && typeof key === "string" && hit(key)) || (!isBranch(value) && hit(leafText(value)));
    if (own) {
      order.push(path);
      for (const a of ancestors) holders.add(a);
    }
    if (isBranch(value)) {
      for (const [k, v] of entriesOf(value)) walk(v, k, pathOf(path, k), [...ancestors, path]);
    }
  };
  walk(root, null, "", []);
  return { order, holders };
}

/** The text with each occurrence of the query in a <mark>. */
function highlight(text: string, query: string, current: boolean): ComponentChildren {
  if (!query) return text;
  const lower = text.toLowerCase();
  const parts: ComponentChildren[] = [];
  let from = 0;
  for (let at = lower.indexOf(query); at >= 0; at = lower.indexOf(query, from)) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push(
      <mark key={at} class={current ? "current" : undefined}>
        {text.slice(at, at + query.length)}
      </mark>,
    );
    from = at + query.length;
  }
  if (from < text.length) parts.push(text.slice(from));
  return parts;
}

interface TreeContext {
  query: string;
  found: Found;
  index: Map<string, number>;
  at: number;
  closed: Set<string>;
  setOpen: (path: string, open: boolean) => void;
  copy: (value: unknown, what: string) => void;
}

function Node({
  name,
  value,
  path,
  ctx,
}: {
  name: Key | null;
  value: unknown;
  path: string;
  ctx: TreeContext;
}) {
  const match = ctx.index.get(path);
  const current = match !== undefined && match === ctx.at;
  const label =
    name === null ? null : (
      <span class="jt-key">{typeof name === "number" ? name : highlight(name, ctx.query, current)}: </span>
    );
  const marks = { "data-path": path || "$", "data-match": match, class: current ? "jt-current" : undefined };
  if (!isBranch(value)) {
    return (
      <li {...marks}>
        {label}
        <span class={`jt-${value === null ? "null" : typeof value}`}>
          {highlight(leafText(value), ctx.query, current)}
        </span>
        <CopyButton onCopy={() => ctx.copy(value, path)} quiet />
      </li>
    );
  }
  const entries = entriesOf(value);
  const open = ctx.found.holders.has(path) || !ctx.closed.has(path);
  return (
    <li {...marks}>
      <details
        open={open}
        // Opened by the search, not by the user: when the search goes, the fold it had comes back.
        onToggle={(e) => !ctx.found.holders.has(path) && ctx.setOpen(path, e.currentTarget.open)}
      >
        <summary>
          {label}
          <span class="jt-count muted">
            {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
          </span>
          <CopyButton onCopy={() => ctx.copy(value, path || "everything")} />
        </summary>
        {open && (
          <ul>
            {entries.map(([k, v]) => (
              <Node key={k} name={k} value={v} path={pathOf(path, k)} ctx={ctx} />
            ))}
          </ul>
        )}
      </details>
    </li>
  );
}

/** Leaves' copy buttons take no tab stop (hundreds of them): their object's button copies them too. */
function CopyButton({ onCopy, quiet = false }: { onCopy: () => void; quiet?: boolean }) {
  return (
    <button
      type="button"
      class="jt-copy quiet"
      tabIndex={quiet ? -1 : undefined}
      aria-label="Copy as JSON"
      title="Copy as JSON"
      onClick={(e) => {
        // A click in a <summary> would fold it too.
        e.preventDefault();
        e.stopPropagation();
        onCopy();
      }}
    >
      Copy
    </button>
  );
}

export function JsonTree({ value, label }: { value: unknown; label: string }) {
  const [query, setQuery] = useState("");
  const [at, setAt] = useState(0);
  const [closed, setClosed] = useState<Set<string>>(() => new Set());
  const toast = useToast();
  const box = useRef<HTMLUListElement>(null);
  const q = query.trim().toLowerCase();
  const found = useMemo(() => find(value, q), [value, q]);
  const index = useMemo(() => new Map(found.order.map((p, i) => [p, i])), [found]);
  const count = found.order.length;

  useEffect(() => {
    if (!count) return;
    box.current?.querySelector(`[data-match="${at}"]`)?.scrollIntoView({ block: "center" });
  }, [at, count, q]);

  const ctx: TreeContext = {
    query: q,
    found,
    index,
    at,
    closed,
    setOpen: (path, open) =>
      setClosed((before) => {
        if (open !== before.has(path)) return before;
        const next = new Set(before);
        if (open) next.delete(path);
        else next.add(path);
        return next;
      }),
    copy: (v, what) =>
      copyText(JSON.stringify(v, null, 2)).then(
        () => toast({ kind: "ok", text: `Copied ${what}` }),
        (err: Error) => toast({ kind: "error", text: `Could not copy: ${err.message}` }),
      ),
  };
  const step = (by: number) => count && setAt((n) => (n + by + count) % count);
  const branches = (all: boolean) => {
    if (!all) return setClosed(new Set());
    const paths = new Set<string>();
    const walk = (v: unknown, path: string) => {
      if (!isBranch(v)) return;
      if (path) paths.add(path);
      for (const [k, x] of entriesOf(v)) walk(x, pathOf(path, k));
    };
    walk(value, "");
    setClosed(paths);
  };

  return (
    <div class="json-tree">
      <div class="jt-bar">
        <input
          type="search"
          data-testid="inspect-search"
          placeholder="Search keys and values"
          aria-label={`Search ${label}`}
          value={query}
          // With the query, not in an effect after it: an effect ran late on a slow page (a full
          // test run) and undid an Enter pressed just after typing.
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setAt(0);
          }}
          onKeyDown={(e) => {
            if (e.key !== "Enter") return;
            e.preventDefault();
            step(e.shiftKey ? -1 : 1);
          }}
        />
        <span class="muted" role="status" data-testid="inspect-matches">
          {q ? (count ? `${at + 1} of ${count}` : "no match") : ""}
        </span>
        <button type="button" disabled={!count} onClick={() => step(-1)} aria-label="Previous match">
          ↑
        </button>
        <button type="button" disabled={!count} onClick={() => step(1)} aria-label="Next match">
          ↓
        </button>
        <button type="button" data-testid="fold-all" onClick={() => branches(true)}>
          Fold all
        </button>
        <button type="button" data-testid="unfold-all" onClick={() => branches(false)}>
          Unfold all
        </button>
        <button type="button" data-testid="copy-all" onClick={() => ctx.copy(value, "everything")}>
          Copy all
        </button>
      </div>
      <ul class="jt inspect" data-testid="inspect" ref={box}>
        <Node name={null} value={value} path="" ctx={ctx} />
      </ul>
    </div>
  );
}
