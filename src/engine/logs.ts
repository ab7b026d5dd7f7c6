import type { Engine } from "./engine.ts";
import { toEngineError } from "./errors.ts";
import { type LogLine, LogLineDecoder } from "./log-lines.ts";
import { containerPath } from "./paths.ts";

export interface LogQuery {
  tail: number | "all";
  /** as the engine takes them: unix seconds, with a fraction down to nanoseconds; both inclusive */
  since?: string;
  until?: string;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
}

export function logsPath(id: string, q: LogQuery, follow: boolean): string {
  // Timestamps are always asked for: they are stripped again when the caller did not want them.
  // The engine (20.10's json-file at least) cuts the tail before it applies `until`, so the last
  // lines before a time are read whole and the tail is kept here (logsAs).
  const params = new URLSearchParams({
    stdout: q.stdout ? "1" : "0",
    stderr: q.stderr ? "1" : "0",
    tail: q.until === undefined ? String(q.tail) : "all",
    timestamps: "1",
    follow: follow ? "1" : "0",
  });
  if (q.since !== undefined) params.set("since", q.since);
  if (q.until !== undefined) params.set("until", q.until);
  return containerPath(id, `/logs?${params}`);
}

/** How the lines of a log read go out: a JSON array of LogLine, or plain text as `docker logs` prints it. */
export type LogFormat = "json" | "text";

const ENCODERS: Record<
  LogFormat,
  { open: string; empty: string; close: string; line(l: LogLine, first: boolean): string }
> = {
  json: {
    open: "[",
    empty: "[]",
    close: "]",
    line: (l, first) => (first ? "" : ",") + JSON.stringify(l),
  },
  text: { open: "", empty: "", close: "", line: (l) => (l.time ? `${l.time} ${l.text}\n` : `${l.text}\n`) },
};

/**
 * The log, encoded as the client reads it: each pull reads one chunk from the engine, so a slow
 * reader leaves the rest in the engine (fetch stops reading the socket) and `tail=all` on a log of
 * gigabytes holds one chunk at a time, never the log. With `until` and a numeric tail, the lines
 * before it are read through and only the last `tail` are kept (never more). The engine's refusals
 * (no such container) throw here, before the caller has answered; a failure half-way errors the
 * stream, which cuts the answer off short (a JSON array without its closing `]`).
 */
export async function logsAs(
  format: LogFormat,
  engine: Engine,
  id: string,
  tty: boolean,
  q: LogQuery,
): Promise<ReadableStream<Uint8Array>> {
  const abort = new AbortController();
  const reader = (await engine.stream(logsPath(id, q, false), abort.signal)).getReader();
  const decoder = new LogLineDecoder(!tty, q.timestamps);
  const enc = ENCODERS[format];
  const utf8 = new TextEncoder();
  let count = 0;
  const encode = (lines: LogLine[]) => {
    let text = "";
    for (const line of lines) text += (count++ === 0 ? enc.open : "") + enc.line(line, count === 1);
    return text;
  };
  const keep = q.until !== undefined && q.tail !== "all" ? q.tail : undefined;
  const read = async (): Promise<LogLine[] | null> => {
    if (keep === undefined) {
      const { done, value } = await reader.read();
      return done ? null : decoder.push(value);
    }
    // Everything up to `until` is read now, keeping at most twice the tail at any time.
    let kept: LogLine[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      kept.push(...(done ? decoder.flush() : decoder.push(value)));
      if (kept.length > 2 * keep || done) kept = kept.slice(Math.max(0, kept.length - keep));
      if (done) return kept;
    }
  };
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const lines = finished ? null : await read();
        if (keep !== undefined) finished = true;
        if (lines === null) {
          const rest = keep === undefined ? encode(decoder.flush()) : "";
          controller.enqueue(utf8.encode(count === 0 ? enc.empty : `${rest}${enc.close}`));
          controller.close();
          return;
        }
        const text = encode(lines);
        if (text) {
          controller.enqueue(utf8.encode(text));
          return;
        }
      }
    },
    cancel() {
      abort.abort();
    },
  });
}

/** Follows a container's log; `onEnd` runs once when the engine closes the stream or it is stopped. */
export function followLogs(
  engine: Engine,
  id: string,
  tty: boolean,
  q: LogQuery,
  onLines: (lines: LogLine[]) => void,
  onEnd: (reason: string) => void,
): () => void {
  const abort = new AbortController();
  const decoder = new LogLineDecoder(!tty, q.timestamps);
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  void (async () => {
    try {
      const reader = (await engine.stream(logsPath(id, q, true), abort.signal)).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const lines = decoder.push(value);
        if (lines.length) onLines(lines);
      }
      const rest = decoder.flush();
      if (rest.length) onLines(rest);
      end("log stream closed by the engine");
    } catch (err) {
      end(abort.signal.aborted ? "unsubscribed" : toEngineError(err).message);
    }
  })();
  return () => {
    ended = true;
    abort.abort();
  };
}
