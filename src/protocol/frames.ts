/**
 * The stream protocol's frame codec (docs/protocol.md), shared by the UI, the server's tests and the
 * CLI, so it must not touch the DOM. The server encodes with msgpackr's Packr (src/stream/frames.ts).
 */
import { unpack } from "msgpackr/unpack";

export interface Frame {
  t: string;
  k: string;
  d: unknown;
}

/** What an `exec:` subscription runs (docs/protocol.md, "Exec"); absent: `sh` as the image's user. */
export interface ExecOptions {
  /** "attach": the container's main process instead of a new one (no cmd nor user then) */
  mode?: "exec" | "attach";
  /** the program and its arguments, as an argv: no shell reads it */
  cmd?: string[];
  /** user, uid, user:group or uid:gid; empty or absent: the image's user */
  user?: string;
}

export type ClientMessage =
  | { op: "sub"; topics: string[]; opts?: ExecOptions }
  | { op: "unsub"; topics: string[] }
  | { op: "ping" }
  /** frames of these topics went missing (datagrams): their first frames again, a keyframe for stats */
  | { op: "resync"; topics: string[] }
  /** the first message of a watch over QUIC (docs/protocol.md, "Watch over QUIC"): who, and what */
  | { op: "hello"; token: string; topics: string[] }
  /** keystrokes for an exec topic */
  | { op: "input"; t: string; d: Uint8Array }
  | { op: "resize"; t: string; d: { cols: number; rows: number } };

export function decodeFrame(bytes: Uint8Array): Frame {
  const value: unknown = unpack(bytes);
  if (typeof value !== "object" || value === null) throw new Error("stream frame is not a map");
  const { t, k, d } = value as Record<string, unknown>;
  if (typeof t !== "string" || typeof k !== "string") throw new Error("stream frame lacks t or k");
  return { t, k, d };
}

type Value = string | number | Uint8Array | string[] | { [key: string]: Value };

// Client messages are small maps of strings, string arrays, bytes and small integers; encoding them
// by hand costs a few hundred bytes where msgpackr's Packr would add about 6 KB gzipped to the page.
export function encodeMessage(msg: ClientMessage): Uint8Array {
  const out: number[] = [];
  writeValue(out, msg as { [key: string]: Value });
  return Uint8Array.from(out);
}

function writeValue(out: number[], value: Value): void {
  if (typeof value === "string") writeString(out, value);
  else if (typeof value === "number") writeUint(out, value);
  else if (value instanceof Uint8Array) {
    if (value.length < 0x100) out.push(0xc4, value.length);
    else writeLength(out, value.length, -1, 0xc5);
    for (const b of value) out.push(b);
  } else if (Array.isArray(value)) {
    writeLength(out, value.length, 0x90, 0xdc);
    for (const item of value) writeString(out, item);
  } else {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    out.push(0x80 | entries.length);
    for (const [key, v] of entries) {
      writeString(out, key);
      writeValue(out, v);
    }
  }
}

/** A non-negative integer below 2^32 (terminal sizes). */
function writeUint(out: number[], n: number): void {
  if (n < 0x80) out.push(n);
  else if (n < 0x10000) out.push(0xcd, n >> 8, n & 0xff);
  else out.push(0xce, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

const utf8 = new TextEncoder();

function writeString(out: number[], s: string): void {
  const bytes = utf8.encode(s);
  if (bytes.length < 32) out.push(0xa0 | bytes.length);
  else if (bytes.length < 0x100) out.push(0xd9, bytes.length);
  else writeLength(out, bytes.length, -1, 0xda);
  for (const b of bytes) out.push(b);
}

/** fix-size header when `fix` applies (fix < 0: none), else the 16- or 32-bit form starting at `wide`. */
function writeLength(out: number[], n: number, fix: number, wide: number): void {
  if (fix >= 0 && n < 16) out.push(fix | n);
  else if (n < 0x10000) out.push(wide, n >> 8, n & 0xff);
  else out.push(wide + 1, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}
