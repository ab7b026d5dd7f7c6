import type { Audience } from "../auth/policy.ts";
import type { ContainerItem } from "../protocol/views.ts";
import type { ContainerChange, ContainerMirror } from "./mirror.ts";
import { wireView } from "./topic.ts";
import { type ContainerView, statusText } from "./view.ts";

/** What a list request asks for beyond what its caller may see (all optional). */
export interface ListFilter {
  /** part of the name, lower case */
  name?: string;
  states?: string[];
  labels?: { key: string; value: string | undefined }[];
}

interface Entry {
  item: ContainerItem;
  /** the item as JSON, made with `item.status` */
  json: string;
}

/** Bodies kept at once (one per audience and filter asked for within the second); the oldest goes first. */
const MAX_BODIES = 64;
/**
 * How long a body outlives its making: a body is good for one second of one version of the list,
 * and at 1,000 containers the admin's alone is ~0.7 MB, kept until the next request otherwise.
 */
const BODY_MS = 1_000;

/**
 * The container list as API callers get it, kept current change by change: each container's JSON is
 * made when the engine changes it (or when its status text turns, "Up 5 seconds"), and a request
 * costs a lookup, or at most joining the kept pieces. An event storm then re-encodes only the
 * containers it touches, and a non-admin's or a filtered list is as cheap as the admin's.
 */
export class ContainerListCache {
  private entries = new Map<string, Entry>();
  /** whole bodies, by audience and filter, for `stamp`: one version of the list and one second */
  private bodies = new Map<string, Uint8Array<ArrayBuffer>>();
  private stamp = "";
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private version = 0;

  constructor(mirror: ContainerMirror) {
    this.replaceAll(mirror.list());
    mirror.onChange((change) => this.apply(change));
  }

  /** The list's JSON for this audience and filter, as UTF-8. */
  body(audience: Audience, filter: ListFilter = {}, now = Date.now()): Uint8Array<ArrayBuffer> {
    const key = `${audience.key}\n${filter.name ?? ""}\n${filter.states?.join(",") ?? ""}\n${
      filter.labels?.map((l) => `${l.key}=${l.value ?? "\u0000"}`).join("\n") ?? ""
    }`;
    const stamp = `${this.version}:${Math.floor(now / 1000)}`;
    if (stamp !== this.stamp) {
      this.bodies.clear();
      this.stamp = stamp;
    }
    const kept = this.bodies.get(key);
    if (kept) return kept;
    const parts: string[] = [];
    for (const entry of this.entries.values()) {
      const { item } = entry;
      if (!audience.sees(item) || !matches(item, filter)) continue;
      const status = statusText(item, now);
      if (status !== item.status) {
        entry.item = { ...item, status };
        entry.json = JSON.stringify(entry.item);
      }
      parts.push(entry.json);
    }
    const bytes = new TextEncoder().encode(`[${parts.join(",")}]`);
    this.bodies.set(key, bytes);
    if (this.bodies.size > MAX_BODIES) this.bodies.delete(this.bodies.keys().next().value!);
    this.expiry ??= setTimeout(() => {
      this.expiry = undefined;
      this.bodies.clear();
      this.stamp = "";
    }, BODY_MS).unref();
    return bytes;
  }

  private apply(change: ContainerChange): void {
    this.version++;
    if (change.kind === "snapshot") this.replaceAll(change.containers);
    else if (change.kind === "remove") this.entries.delete(change.id);
    else this.entries.set(change.container.id, entryOf(change.container));
  }

  private replaceAll(list: readonly ContainerView[]): void {
    this.entries = new Map(list.map((c) => [c.id, entryOf(c)]));
  }
}

function entryOf(container: ContainerView): Entry {
  const item = wireView(container);
  return { item, json: JSON.stringify(item) };
}

function matches(c: ContainerItem, f: ListFilter): boolean {
  return (
    (!f.name || c.name.toLowerCase().includes(f.name)) &&
    (!f.states?.length || f.states.includes(c.state)) &&
    (f.labels ?? []).every((l) => (l.value === undefined ? l.key in c.labels : c.labels[l.key] === l.value))
  );
}
