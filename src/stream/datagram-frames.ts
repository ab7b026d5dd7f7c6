/**
 * Stats frames cut to QUIC datagrams (docs/protocol.md, "Watch over QUIC"). A frame that fits goes
 * as it is; a larger one is cut by containers into parts, each an ordinary frame of the same kind
 * and tick with `p: [part, parts]`, so that each part applies alone (src/protocol/stats-datagrams.ts)
 * and a lost datagram loses only the containers it carried.
 */
import { unpack } from "msgpackr/unpack";
import type { DeltaFrame, KeyFrame } from "../protocol/stats-frames.ts";
import { encodeFrame } from "./frames.ts";

/** One datagram-sized piece of a frame, and whether it belongs to a keyframe. */
export interface Datagrams {
  topic: string;
  key: boolean;
  parts: Uint8Array[];
}

/** The topics whose frames go as datagrams: newest-only frames that a keyframe repairs. */
export function isDatagramTopic(topic: string): boolean {
  return topic.startsWith("stats:");
}

/**
 * The datagrams of an encoded frame, or undefined for a frame that is not a stats key or delta
 * (it goes on the reliable stream). A container whose row alone exceeds `max` (a name of hundreds
 * of characters) still gets a part of its own, which the session will not send: it is lost.
 */
export function statsDatagrams(frame: Uint8Array, max: number): Datagrams | undefined {
  const { t, k, d } = unpack(frame) as { t?: unknown; k?: unknown; d?: unknown };
  if (typeof t !== "string" || !isDatagramTopic(t) || (k !== "key" && k !== "delta")) return undefined;
  if (frame.byteLength <= max) return { topic: t, key: k === "key", parts: [frame] };
  if (k === "key") {
    const { c, ...head } = d as KeyFrame;
    const groups = pack(c, max, (rows, p) => encodeFrame(t, { k, d: { ...head, c: rows, p } }));
    return { topic: t, key: true, parts: groups };
  }
  const delta = d as DeltaFrame;
  type Item = { c: number[] } | { n: KeyFrame["c"][number] } | { x: number };
  const items: Item[] = [
    ...(delta.x ?? []).map((x) => ({ x })),
    ...(delta.n ?? []).map((n) => ({ n })),
    ...changedRows(delta.c ?? []).map((c) => ({ c })),
  ];
  const parts = pack(items, max, (group, p) => {
    const part: DeltaFrame & { p: [number, number] } = { s: delta.s, t: delta.t, p };
    if (delta.m) part.m = delta.m;
    const x = group.flatMap((i) => ("x" in i ? [i.x] : []));
    const n = group.flatMap((i) => ("n" in i ? [i.n] : []));
    const c = rebase(group.flatMap((i) => ("c" in i ? [i.c] : [])));
    if (x.length) part.x = x;
    if (n.length) part.n = n;
    if (c.length) part.c = c;
    return encodeFrame(t, { k, d: part });
  });
  return { topic: t, key: false, parts };
}

/**
 * Greedy: items in order into parts of at most `max` bytes, sized by encoding; then each part
 * encoded with its final `p`. An item's cost is measured alone, so a part's size is an estimate a
 * few bytes over the truth at most (msgpack's array header grows by 2 bytes past 15 items).
 */
function pack<T>(
  items: T[],
  max: number,
  encode: (group: T[], p: [number, number]) => Uint8Array,
): Uint8Array[] {
  const empty = encode([], [0, 0]).byteLength;
  const room = max - encode([], [65_535, 65_535]).byteLength - 4;
  const groups: T[][] = [[]];
  let used = 0;
  for (const item of items) {
    const cost = encode([item], [0, 0]).byteLength - empty;
    if (used + cost > room && groups.at(-1)!.length > 0) {
      groups.push([]);
      used = 0;
    }
    groups.at(-1)!.push(item);
    used += cost;
  }
  return groups.map((g, i) => encode(g, [i, groups.length]));
}

/** A delta's flat `c` as one array per container: [absolute index, mask, ...diffs]. */
function changedRows(flat: number[]): number[][] {
  const rows: number[][] = [];
  let next = 0;
  for (let i = 0; i < flat.length; ) {
    const idx = next + (flat[i++] ?? 0);
    const mask = flat[i++] ?? 0;
    let bits = 0;
    for (let m = mask; m; m &= m - 1) bits++;
    rows.push([idx, mask, ...flat.slice(i, i + bits)]);
    i += bits;
    next = idx + 1;
  }
  return rows;
}

/** Back to the flat form, each index as the step from the one before (as the encoder writes it). */
function rebase(rows: number[][]): number[] {
  const flat: number[] = [];
  let next = 0;
  for (const [idx = 0, ...rest] of rows) {
    flat.push(idx - next, ...rest);
    next = idx + 1;
  }
  return flat;
}
