import { EngineError } from "../engine/errors.ts";
import type { JobHandle } from "./jobs.ts";

/** One line of the engine's progress stream (pull, push, build, import), as far as jobs read it. */
interface ProgressLine {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  /** a build's output */
  stream?: string;
  /** a build's result: the image made */
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Reads the engine's newline-delimited JSON progress into a job: layers as steps, build output as
 * lines. The engine answers 200 and then reports a failure inside the stream: that is thrown here
 * as an EngineError, so a pull of a missing tag fails like any other engine error. Returns the id
 * the engine reported last (a build's image), if any.
 */
export async function followProgress(
  body: ReadableStream<Uint8Array>,
  job: JobHandle,
): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let carry = "";
  let made: string | undefined;
  const apply = (text: string) => {
    if (!text.trim()) return;
    let line: ProgressLine;
    try {
      line = JSON.parse(text);
    } catch {
      job.line(text);
      return;
    }
    if (line.error || line.errorDetail?.message) {
      throw new EngineError(400, line.errorDetail?.message ?? line.error ?? "the engine reported an error");
    }
    if (line.aux?.ID) made = line.aux.ID;
    if (line.stream !== undefined) {
      for (const l of line.stream.replace(/\n$/, "").split("\n")) job.line(l);
      return;
    }
    if (line.id && line.status) {
      job.step(line.id, line.status, line.progressDetail?.current ?? 0, line.progressDetail?.total ?? 0);
    } else if (line.status) job.line(line.id ? `${line.id}: ${line.status}` : line.status);
  };
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  job.signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const lines = (carry + decoder.decode(value, { stream: true })).split("\n");
      carry = lines.pop() ?? "";
      for (const l of lines) apply(l);
    }
    apply(carry);
    if (job.signal.aborted) throw new Error("cancelled");
  } finally {
    job.signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
  return made;
}
