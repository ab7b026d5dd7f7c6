import type { LogLine } from "../engine/log-lines.ts";

export interface BatchLimits {
  /** the longest a line waits for others to share its frame */
  ms: number;
  /** a frame goes at once when it holds this many lines… */
  lines: number;
  /** …or this many characters of text, far under a connection's send buffer */
  chars: number;
}

export const BATCH_LIMITS: BatchLimits = { ms: 50, lines: 5000, chars: 128 * 1024 };

/**
 * Gathers a followed log's lines into frames: the engine hands them over a chunk at a time (often
 * one line each), and a frame per chunk spends more on the frame than on the line. The first line
 * of a batch starts its clock; the batch goes when the clock runs out or a bound is reached.
 */
export class LineBatcher {
  private lines: LogLine[] = [];
  private chars = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (lines: LogLine[]) => void,
    private readonly limits: BatchLimits = BATCH_LIMITS,
  ) {}

  push(lines: readonly LogLine[]): void {
    for (const line of lines) {
      this.lines.push(line);
      this.chars += line.text.length;
      if (this.lines.length >= this.limits.lines || this.chars >= this.limits.chars) this.flush();
    }
    if (this.lines.length && !this.timer) this.timer = setTimeout(() => this.flush(), this.limits.ms);
  }

  /** Sends what is waiting now (the stream ended, or a bound was reached). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.lines.length) return;
    const lines = this.lines;
    this.lines = [];
    this.chars = 0;
    this.send(lines);
  }

  /** Drops what is waiting: nobody is left to send it to. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lines = [];
  }
}
