/**
 * The stream protocol's frame codec (docs/protocol.md), shared by the UI, the server's tests and the
 * CLI, so it must not touch the DOM.
 */
import { unpack } from "msgpackr/unpack";

export interface Frame {
  t: string;
  k: string;
  d: unknown;
}

export interface ClientMessage {
  op: "sub" | "unsub" | "ping";
  topics?: string[];
}

export function decodeFrame(bytes: Uint8Array): Frame {
  const value: unknown = unpack(bytes);
  if (typeof value !== "object" || value === null) throw new Error("stream frame is not a map");
  const { t, k, d } = value as Record<string, unknown>;
  if (typeof t !== "string" || typeof k !== "string") throw new Error("stream frame lacks t or k");
  return { t, k, d };
}

// Client messages are only maps of strings and string arrays; encoding them by hand costs a few
// hundred bytes where msgpackr's Packr would add about 6 KB gzipped to the page.
export function encodeMessage(msg: ClientMessage): Uint8Array {
  const out: number[] = [];
  const entries = Object.entries(msg).filter(([, v]) => v !== undefined);
  out.push(0x80 | entries.length);
  for (const [key, value] of entries) {
    writeString(out, key);
    if (Array.isArray(value)) {
      writeLength(out, value.length, 0x90, 0xdc);
      for (const item of value) writeString(out, item);
    } else {
      writeString(out, value);
    }
  }
  return Uint8Array.from(out);
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
