import { plainText } from "./ansi.ts";

/** The most lines one view holds; past it the oldest go. */
export const MAX_LINES = 400_000;

export interface NewLine {
  us: number;
  text: string;
  /** index of the container in the view (merged views), and whether it came from stderr */
  source: number;
  stderr: boolean;
}

/**
 * A view's lines by column, in time order across its containers. Each line has an id that stays
 * the same while lines are added after it or dropped before it, so what a filter found (ids)
 * is extended with the new lines instead of being searched again; `epoch` changes when lines
 * went in between others and ids moved (a merged view, older lines), which starts filters over.
 */
export class LogStore {
  text: string[] = [];
  us: number[] = [];
  /** source << 1 | stderr */
  meta: number[] = [];
  /** the id of the line at index 0 */
  start = 0;
  epoch = 0;
  /** bumps on every change, for views to notice */
  version = 0;

  get length(): number {
    return this.text.length;
  }

  /** Adds lines given in time order; ties keep what was there first. */
  insert(lines: NewLine[]): void {
    if (!lines.length) return;
    const n = this.us.length;
    const firstUs = lines[0]!.us;
    // Where the first new line goes: after every line not newer than it.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.us[mid]! <= firstUs) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) {
      for (const l of lines) this.push(l);
    } else if (lo === 0 && lines[lines.length - 1]!.us <= this.us[0]!) {
      // All older than what is held: ids before `start` are free, so later ids stay as they were.
      this.text = lines.map((l) => l.text).concat(this.text);
      this.us = lines.map((l) => l.us).concat(this.us);
      this.meta = lines.map((l) => (l.source << 1) | (l.stderr ? 1 : 0)).concat(this.meta);
      this.start -= lines.length;
    } else {
      this.mergeFrom(lo, lines);
      this.epoch++;
    }
    this.trim();
    this.version++;
  }

  clear(): void {
    this.text = [];
    this.us = [];
    this.meta = [];
    this.epoch++;
    this.version++;
  }

  /** The index of a line by id, -1 when it is gone. */
  indexOf(id: number): number {
    const i = id - this.start;
    return i >= 0 && i < this.text.length ? i : -1;
  }

  private push(l: NewLine): void {
    this.text.push(l.text);
    this.us.push(l.us);
    this.meta.push((l.source << 1) | (l.stderr ? 1 : 0));
  }

  private mergeFrom(at: number, lines: NewLine[]): void {
    const tail = { text: this.text.splice(at), us: this.us.splice(at), meta: this.meta.splice(at) };
    let i = 0;
    let j = 0;
    while (i < tail.us.length || j < lines.length) {
      if (j >= lines.length || (i < tail.us.length && tail.us[i]! <= lines[j]!.us)) {
        this.text.push(tail.text[i]!);
        this.us.push(tail.us[i]!);
        this.meta.push(tail.meta[i]!);
        i++;
      } else this.push(lines[j++]!);
    }
  }

  private trim(): void {
    const excess = this.text.length - MAX_LINES;
    // Dropped in chunks: splicing the front of 400,000 entries per frame would cost more than the frame.
    if (excess < MAX_LINES / 20) return;
    this.text.splice(0, excess);
    this.us.splice(0, excess);
    this.meta.splice(0, excess);
    this.start += excess;
  }
}

export interface Filter {
  /** "stdout" or "stderr" alone, or both */
  stream: "all" | "stdout" | "stderr";
  /** lines shown only when they match (null: no search) */
  search: RegExp | null;
  /** only these containers' lines (by source index), null: all */
  sources: Set<number> | null;
}

export function filterKey(f: Filter): string {
  return `${f.stream}\u0000${f.search?.source ?? ""}\u0000${f.search?.flags ?? ""}\u0000${f.sources ? [...f.sources].join(",") : "*"}`;
}

export function matches(store: LogStore, i: number, f: Filter): boolean {
  const meta = store.meta[i]!;
  if (f.stream !== "all" && (meta & 1) !== (f.stream === "stderr" ? 1 : 0)) return false;
  if (f.sources && !f.sources.has(meta >> 1)) return false;
  if (!f.search) return true;
  f.search.lastIndex = 0;
  return f.search.test(plainText(store.text[i]!));
}

/**
 * The ids of the lines a filter lets through, kept up to date as lines come: only lines added
 * since the last call are tested, unless the filter or the store's epoch changed.
 */
export class FilteredIds {
  private ids: number[] = [];
  /** ids[head] is the first still held by the store */
  private head = 0;
  private key = "";
  private epoch = -1;
  /** the ids from `from` up to (not including) `to` have been tested */
  private from = 0;
  private to = 0;

  update(store: LogStore, f: Filter): { ids: number[]; head: number } {
    const key = filterKey(f);
    const end = store.start + store.length;
    if (key !== this.key || store.epoch !== this.epoch || this.to < store.start || this.to > end) {
      this.key = key;
      this.epoch = store.epoch;
      this.ids = [];
      this.head = 0;
      this.from = this.to = store.start;
    }
    if (store.start < this.from) {
      // Older lines went in front: tested now and put first.
      const front: number[] = [];
      for (let id = store.start; id < this.from; id++)
        if (matches(store, id - store.start, f)) front.push(id);
      this.ids = front.concat(this.ids.slice(this.head));
      this.head = 0;
    }
    this.from = store.start;
    for (let id = this.to; id < end; id++) if (matches(store, id - store.start, f)) this.ids.push(id);
    this.to = end;
    while (this.head < this.ids.length && this.ids[this.head]! < store.start) this.head++;
    if (this.head > 50_000) {
      this.ids = this.ids.slice(this.head);
      this.head = 0;
    }
    return { ids: this.ids, head: this.head };
  }
}

/** Names without what they all start with (a compose project's prefix), to tag lines briefly. */
export function shortNames(names: string[]): string[] {
  if (names.length < 2) return names;
  let common = names[0]!;
  for (const n of names) while (!n.startsWith(common)) common = common.slice(0, -1);
  // Cut only after a separator, so "web-1" and "worker-1" keep their whole words.
  const cut = Math.max(common.lastIndexOf("-"), common.lastIndexOf("_"), common.lastIndexOf(".")) + 1;
  return names.map((n) => n.slice(cut) || n);
}
