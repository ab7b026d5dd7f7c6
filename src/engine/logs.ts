import type { Engine } from "./engine.ts";
import { toEngineError } from "./errors.ts";
import { type LogLine, LogLineDecoder } from "./log-lines.ts";
import { containerPath } from "./paths.ts";

export interface LogQuery {
  tail: number | "all";
  since?: number;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
}

export function logsPath(id: string, q: LogQuery, follow: boolean): string {
  // Timestamps are always asked for: they are stripped again when the caller did not want them.
  const params = new URLSearchParams({
    stdout: q.stdout ? "1" : "0",
    stderr: q.stderr ? "1" : "0",
    tail: String(q.tail),
    timestamps: "1",
    follow: follow ? "1" : "0",
  });
  if (q.since !== undefined) params.set("since", String(q.since));
  return containerPath(id, `/logs?${params}`);
}

/**
 * The log as a JSON array of LogLine, encoded as the client reads it: each pull reads one chunk
 * from the engine, so a slow reader leaves the rest in the engine (fetch stops reading the socket)
 * and `tail=all` on a log of gigabytes holds one chunk at a time, never the log. The engine's
 * refusals (no such container) throw here, before the caller has answered; a failure half-way
 * errors the stream, which cuts the answer off short of its closing `]`.
 */
export async function logsAsJson(
  engine: Engine,
  id: string,
  tty: boolean,
  q: LogQuery,
): Promise<ReadableStream<Uint8Array>> {
  const abort = new AbortController();
  const reader = (await engine.stream(logsPath(id, q, false), abort.signal)).getReader();
  const decoder = new LogLineDecoder(!tty, q.timestamps);
  const utf8 = new TextEncoder();
  let separator = "[";
  const json = (lines: LogLine[]) => {
    let text = "";
    for (const line of lines) {
      text += separator + JSON.stringify(line);
      separator = ",";
    }
    return text;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          const rest = json(decoder.flush());
          controller.enqueue(utf8.encode(separator === "[" ? "[]" : `${rest}]`));
          controller.close();
          return;
        }
        const text = json(decoder.push(value));
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
