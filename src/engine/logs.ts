import type { EngineClient } from "./client.ts";
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

function logsPath(id: string, q: LogQuery, follow: boolean): string {
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

export async function readLogs(
  engine: EngineClient,
  id: string,
  tty: boolean,
  q: LogQuery,
): Promise<LogLine[]> {
  const body = await engine.stream(logsPath(id, q, false));
  const decoder = new LogLineDecoder(!tty, q.timestamps);
  const raw = new Uint8Array(await new Response(body).arrayBuffer());
  return [...decoder.push(raw), ...decoder.flush()];
}

/** Follows a container's log; `onEnd` runs once when the engine closes the stream or it is stopped. */
export function followLogs(
  engine: EngineClient,
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
