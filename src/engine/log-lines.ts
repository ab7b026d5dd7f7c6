import type { LogLine } from "../protocol/views.ts";

export type { LogLine };

const STREAM_NAMES: Record<number, LogLine["stream"]> = { 1: "stdout", 2: "stderr" };
// Docker's timestamps=true prefix: RFC 3339 with nanoseconds, then one space.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /;

/** Longer lines are cut into pieces of this many characters: a line never waits unbounded. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Turns the engine's log byte stream into lines. Without a TTY the engine multiplexes stdout and
 * stderr in frames of [stream, 0, 0, 0, size (u32 BE)] + payload; with a TTY the bytes are raw.
 * A frame's payload is decoded as it arrives, not once whole, and a line is cut at
 * MAX_LINE_CHARS: what an engine sends (a frame claiming gigabytes, output without a newline)
 * cannot make the decoder hold more than that. UTF-8 split across chunks or frames is joined.
 */
export class LogLineDecoder {
  private header: Buffer = Buffer.alloc(0);
  /** the stream of the frame being read, and how many of its payload bytes are still to come */
  private frame: { stream: LogLine["stream"]; left: number } | undefined;
  private readonly utf8 = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private partial: Record<LogLine["stream"], string> = { stdout: "", stderr: "" };

  constructor(
    private readonly multiplexed: boolean,
    private readonly keepTime: boolean,
  ) {}

  push(chunk: Uint8Array): LogLine[] {
    const out: LogLine[] = [];
    if (!this.multiplexed) {
      this.appendBytes("stdout", chunk, out);
      return out;
    }
    let at = 0;
    while (at < chunk.length) {
      if (!this.frame) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
        at += need;
        if (this.header.length < 8) break;
        this.frame = { stream: STREAM_NAMES[this.header[0]!] ?? "stdout", left: this.header.readUInt32BE(4) };
        this.header = Buffer.alloc(0);
      }
      const take = Math.min(this.frame.left, chunk.length - at);
      this.appendBytes(this.frame.stream, chunk.subarray(at, at + take), out);
      at += take;
      this.frame.left -= take;
      if (this.frame.left === 0) this.frame = undefined;
    }
    return out;
  }

  /** Lines still waiting for their newline when the stream ends. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.partial[stream] + this.utf8[stream].decode();
      if (rest) out.push(this.toLine(stream, rest));
      this.partial[stream] = "";
    }
    return out;
  }

  private appendBytes(stream: LogLine["stream"], bytes: Uint8Array, out: LogLine[]): void {
    const parts = (this.partial[stream] + this.utf8[stream].decode(bytes, { stream: true })).split("\n");
    let rest = parts.pop() ?? "";
    for (const part of parts) out.push(this.toLine(stream, part.endsWith("\r") ? part.slice(0, -1) : part));
    while (rest.length >= MAX_LINE_CHARS) {
      out.push(this.toLine(stream, rest.slice(0, MAX_LINE_CHARS)));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.partial[stream] = rest;
  }

  private toLine(stream: LogLine["stream"], raw: string): LogLine {
    const m = TIMESTAMP.exec(raw);
    if (!m) return { stream, time: null, text: raw };
    return { stream, time: this.keepTime ? m[1]! : null, text: raw.slice(m[0].length) };
  }
}
