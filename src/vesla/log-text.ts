import type { Engine } from "../engine/engine.ts";
import { LogLineDecoder } from "../engine/log-lines.ts";
import { logsPath } from "../engine/logs.ts";

/** Past this much text the rest of a tail is left out: a text answer is held whole, unlike the JSON one. */
const MAX_TEXT = 8 * 1024 * 1024;

/**
 * A container's log tail as the seed's console gave it: one text, each line `<RFC 3339 time> <text>`
 * as Docker's `timestamps=true` writes it, stdout and stderr merged in the engine's order.
 */
export async function logText(
  engine: Engine,
  id: string,
  tty: boolean,
  tail: number,
): Promise<{ text: string; lines: number }> {
  const abort = new AbortController();
  const reader = (
    await engine.stream(
      logsPath(id, { tail, timestamps: true, stdout: true, stderr: true }, false),
      abort.signal,
    )
  ).getReader();
  const decoder = new LogLineDecoder(!tty, true);
  let text = "";
  let lines = 0;
  const add = (batch: { time: string | null; text: string }[]) => {
    for (const l of batch) {
      text += `${l.time === null ? "" : `${l.time} `}${l.text}\n`;
      lines++;
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    add(decoder.push(value));
    if (text.length > MAX_TEXT) {
      abort.abort();
      return { text, lines };
    }
  }
  add(decoder.flush());
  return { text, lines };
}
