import type { Server } from "bun";
import type { AppContext } from "./context.ts";

/** The longest idle timeout Bun keeps for one request: it takes a longer one as this. */
const MAX_SECONDS = 255;

/**
 * Lifts the server's idle timeout (10 s) for this one request: an upload streamed into the engine,
 * or an answer that waits for the engine's slow work (removing or pruning images), can be silent
 * longer than that without being stuck. `seconds`: 0 for no limit. Past what Bun keeps (255 s)
 * there is no limit either, rather than a cut before the promised time: the slow work's own limit
 * then bounds the answer.
 */
export function allowSlowRequest(c: AppContext, seconds: number): void {
  const server = c.env as Server<unknown> | undefined;
  try {
    server?.timeout?.(c.req.raw, seconds > MAX_SECONDS ? 0 : seconds);
  } catch {
    // not served by Bun.serve (a test calling app.fetch directly): no idle timeout to lift
  }
}
