import type { Server } from "bun";
import type { AppContext } from "./context.ts";

/**
 * Lifts the server's idle timeout (10 s) for this one request: an upload streamed into the engine,
 * or an answer that waits for the engine's slow work (removing or pruning images), can be silent
 * longer than that without being stuck. `seconds`: 0 for no limit.
 */
export function allowSlowRequest(c: AppContext, seconds: number): void {
  const server = c.env as Server<unknown> | undefined;
  try {
    server?.timeout?.(c.req.raw, seconds);
  } catch {
    // not served by Bun.serve (a test calling app.fetch directly): no idle timeout to lift
  }
}
