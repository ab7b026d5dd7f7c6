/** One log line as the API and the stream carry it. */
export interface LogLine {
  stream: "stdout" | "stderr";
  time: string | null;
  text: string;
}

const STREAM_NAMES: Record<number, LogLine["stream"]> = { 1: "stdout", 2: "stderr" };
// Docker's timestamps=true prefix: RFC 3339 with nanoseconds, then one space.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /;

/**
 * Turns the engine's log byte stream into lines. Without a TTY the engine multiplexes stdout and
 * stderr in frames of [stream, 0, 0, 0, size (u32 BE)] + payload; with a TTY the bytes are raw.
 * Partial frames and partial lines are carried over to the next chunk.
 */
export class LogLineDecoder {
  private frameBuf: Buffer = Buffer.alloc(0);
  private partial: Record<LogLine["stream"], string> = { stdout: "", stderr: "" };

  constructor(
    private readonly multiplexed: boolean,
    private readonly keepTime: boolean,
  ) {}

  push(chunk: Uint8Array): LogLine[] {
    const out: LogLine[] = [];
    if (!this.multiplexed) {
      this.appendText("stdout", Buffer.from(chunk).toString("utf8"), out);
      return out;
    }
    let buf = this.frameBuf.length ? Buffer.concat([this.frameBuf, chunk]) : Buffer.from(chunk);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const stream = STREAM_NAMES[buf[0]!] ?? "stdout";
      this.appendText(stream, buf.subarray(8, 8 + size).toString("utf8"), out);
      buf = buf.subarray(8 + size);
    }
    this.frameBuf = buf;
    return out;
  }

  /** Lines still waiting for their newline when the stream ends. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream]) out.push(this.toLine(stream, this.partial[stream]));
      this.partial[stream] = "";
    }
    return out;
  }

  private appendText(stream: LogLine["stream"], text: string, out: LogLine[]): void {
    const parts = (this.partial[stream] + text).split("\n");
    this.partial[stream] = parts.pop() ?? "";
    for (const part of parts) out.push(this.toLine(stream, part.endsWith("\r") ? part.slice(0, -1) : part));
  }

  private toLine(stream: LogLine["stream"], raw: string): LogLine {
    const m = TIMESTAMP.exec(raw);
    if (!m) return { stream, time: null, text: raw };
    return { stream, time: this.keepTime ? m[1]! : null, text: raw.slice(m[0].length) };
  }
}
