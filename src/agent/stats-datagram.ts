// Not the package root: under Bun it also loads msgpackr's streams (node:stream) and its native
// add-on loader, neither of which a datagram uses.
import { pack } from "msgpackr/pack";
import { unpack } from "msgpackr/unpack";
import type { RawSample } from "../stats/sample.ts";
import { MAX_DATAGRAM } from "./link.ts";

/**
 * An agent's stats as datagrams (docs/protocol.md §Agent stats datagrams). Each datagram decodes
 * alone: it names its containers by slot, and each entry is either a keyframe (the container's id
 * and its counters as they are) or a delta of its counters against that slot's last keyframe,
 * which the entry names by its tag (the tick it was sent in). A lost delta loses one sample of its
 * containers; a lost keyframe, the samples of its container until the next one, which comes every
 * KEY_EVERY ticks per container (each container on its own tick, so they spread out) or at once
 * when the panel asks for it. A delta is never applied to a keyframe it was not made against.
 */

const VERSION = 1;
/** Ticks between a container's keyframes when none is lost: bytes against time to recover. */
export const KEY_EVERY = 10;
/** Slots are numbered from 0 and used again; more than this is no agent of ours. */
const MAX_SLOTS = 65_536;
/** At most this many slots asked for again in one request. */
const MAX_RESYNC = 256;
/** RawSample's counters, in the order they go on the wire. */
const FIELDS = [
  "at",
  "cpu_ns",
  "system_ns",
  "online_cpus",
  "mem_usage",
  "mem_limit",
  "pids",
  "blk_read",
  "blk_write",
  "net_rx",
  "net_tx",
] as const satisfies readonly (keyof RawSample)[];
const SOURCES = ["cgroup", "docker"] as const;
export type SourceName = (typeof SOURCES)[number];
const HEX_ID = /^[0-9a-f]{64}$/;
// room for the datagram's own head: fixarray, version, seq (≤ 9 bytes), source, entry count (≤ 3)
const HEAD_ROOM = 16;

interface SentSlot {
  slot: number;
  tag: number;
  base: number[];
}

function valuesOf(s: RawSample): number[] {
  return FIELDS.map((f) => s[f]);
}

function sampleOf(values: number[]): RawSample {
  const s = {} as RawSample;
  FIELDS.forEach((f, i) => {
    s[f] = values[i]!;
  });
  return s;
}

/** The agent's end: each tick's samples as datagrams of at most MAX_DATAGRAM bytes. */
export class StatsDatagramEncoder {
  private seq = 0;
  private readonly slots = new Map<string, SentSlot>();
  private free: number[] = [];
  private next = 0;
  private readonly wanted = new Set<number>();

  /** The panel lacks these slots' keyframes: they get one in the next tick. */
  resync(slots: number[]): void {
    for (const s of slots) this.wanted.add(s);
  }

  encode(samples: Map<string, RawSample>, source: SourceName): Uint8Array[] {
    this.seq++;
    for (const [id, sent] of this.slots) {
      if (samples.has(id)) continue;
      this.slots.delete(id);
      this.free.push(sent.slot);
    }
    const entries: Uint8Array[] = [];
    for (const [id, sample] of samples) {
      const values = valuesOf(sample);
      let sent = this.slots.get(id);
      if (!sent || (this.seq + sent.slot) % KEY_EVERY === 0 || this.wanted.has(sent.slot)) {
        sent ??= { slot: this.take(), tag: 0, base: values };
        sent.tag = this.seq;
        sent.base = values;
        this.slots.set(id, sent);
        entries.push(pack([sent.slot, sent.tag, HEX_ID.test(id) ? Buffer.from(id, "hex") : id, ...values]));
      } else {
        const base = sent.base;
        entries.push(pack([sent.slot, sent.tag, ...values.map((v, i) => v - base[i]!)]));
      }
    }
    this.wanted.clear();
    return this.chunk(entries, SOURCES.indexOf(source));
  }

  /** Entries packed into datagrams as full as MAX_DATAGRAM allows; entries are never split. */
  private chunk(entries: Uint8Array[], source: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = () => {
      if (!batch.length) return;
      out.push(datagram(pack([VERSION, this.seq, source]), batch));
      batch = [];
      size = 0;
    };
    for (const e of entries) {
      if (size + e.length > MAX_DATAGRAM - HEAD_ROOM) flush();
      batch.push(e);
      size += e.length;
    }
    flush();
    return out;
  }

  private take(): number {
    this.free.sort((a, b) => b - a);
    return this.free.pop() ?? this.next++;
  }
}

/** [version, seq, source] packed, made a 4-array whose last item is the entries. */
function datagram(head: Uint8Array, entries: Uint8Array[]): Uint8Array {
  const n = entries.length;
  const count = n < 16 ? Uint8Array.of(0x90 | n) : Uint8Array.of(0xdc, n >> 8, n & 0xff);
  const out = new Uint8Array(head.length + count.length + entries.reduce((s, e) => s + e.length, 0));
  out.set(head, 0);
  out[0] = 0x94;
  out.set(count, head.length);
  let at = head.length + count.length;
  for (const e of entries) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

export interface DecodedStats {
  source: SourceName;
  /** container id and its sample, for every entry that could be read */
  samples: [string, RawSample][];
  /** slots whose deltas came without the keyframe they were made against */
  missing: number[];
}

const isCount = (v: unknown, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v < max;

/** The panel's end, one per link: what each slot's last keyframe was. */
export class StatsDatagramDecoder {
  private readonly slots = new Map<number, { id: string; tag: number; base: number[] }>();

  /** Undefined for anything that is not a stats datagram; entries that do not read are skipped. */
  decode(data: Uint8Array): DecodedStats | undefined {
    let message: unknown;
    try {
      message = unpack(data);
    } catch {
      return undefined;
    }
    if (!Array.isArray(message) || message.length !== 4 || message[0] !== VERSION) return undefined;
    const [, , src, entries] = message as [number, unknown, unknown, unknown];
    if (!isCount(src, SOURCES.length) || !Array.isArray(entries)) return undefined;
    const out: DecodedStats = { source: SOURCES[src]!, samples: [], missing: [] };
    for (const entry of entries) {
      if (!Array.isArray(entry)) continue;
      const [slot, tag] = entry;
      if (!isCount(slot, MAX_SLOTS) || !isCount(tag, Number.MAX_SAFE_INTEGER)) continue;
      const keyed = entry.length === FIELDS.length + 3;
      const values = entry.slice(keyed ? 3 : 2);
      if (values.length !== FIELDS.length || !values.every(Number.isFinite)) continue;
      const known = this.slots.get(slot);
      if (keyed) {
        const id = idOf(entry[2]);
        // an older keyframe arriving late must not replace the newer one deltas are made against
        if (id === undefined || (known && known.tag > tag)) continue;
        this.slots.set(slot, { id, tag, base: values });
        out.samples.push([id, sampleOf(values)]);
      } else if (known?.tag === tag) {
        out.samples.push([known.id, sampleOf(values.map((v, i) => known.base[i]! + v))]);
      } else if (!known || known.tag < tag) {
        if (!out.missing.includes(slot)) out.missing.push(slot);
      }
    }
    return out;
  }
}

function idOf(raw: unknown): string | undefined {
  if (raw instanceof Uint8Array && raw.length === 32) return Buffer.from(raw).toString("hex");
  if (typeof raw === "string" && /^[0-9A-Za-z_.-]{1,128}$/.test(raw)) return raw;
  return undefined;
}

/** The panel asking for keyframes of slots it lacks: [version, "k", slots]. */
export function encodeResync(slots: number[]): Uint8Array {
  return pack([VERSION, "k", slots.slice(0, MAX_RESYNC)]);
}

export function decodeResync(data: Uint8Array): number[] | undefined {
  try {
    const m = unpack(data) as unknown;
    if (!Array.isArray(m) || m[0] !== VERSION || m[1] !== "k" || !Array.isArray(m[2])) return undefined;
    return m[2].slice(0, MAX_RESYNC).filter((s: unknown) => isCount(s, MAX_SLOTS));
  } catch {
    return undefined;
  }
}
