import type Dockerode from "dockerode";
import type { EngineClient } from "./client.ts";
import { toEngineError } from "./errors.ts";
import { type LogLine, LogLineDecoder } from "./log-lines.ts";

export interface LogQuery {
  tail: number | "all";
  since?: number;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
}

function engineOptions(q: LogQuery) {
  // Timestamps are always asked for: they are stripped again when the caller did not want them.
  return {
    stdout: q.stdout,
    stderr: q.stderr,
    tail: q.tail === "all" ? "all" : q.tail,
    timestamps: true,
    ...(q.since !== undefined ? { since: q.since } : {}),
  };
}

export async function readLogs(
  engine: EngineClient,
  id: string,
  tty: boolean,
  q: LogQuery,
): Promise<LogLine[]> {
  const raw = await engine.call((d) =>
    d
      .getContainer(id)
      .logs({ ...engineOptions(q), follow: false } as Dockerode.ContainerLogsOptions & { follow: false }),
  );
  const decoder = new LogLineDecoder(!tty, q.timestamps);
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
      const stream = await engine.call((d) =>
        d.getContainer(id).logs({
          ...engineOptions(q),
          follow: true,
          abortSignal: abort.signal,
        } as Dockerode.ContainerLogsOptions & { follow: true }),
      );
      for await (const chunk of stream) {
        const lines = decoder.push(chunk as Buffer);
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
