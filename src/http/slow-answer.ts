import type { Server } from "bun";
import type { AppContext } from "./context.ts";

/**
 * Lets this request's connection stay silent for up to `seconds` while the engine works (a prune
 * of a big engine): Bun.serve otherwise drops a connection idle for 10 s, and the caller would
 * lose the answer of something that went on to happen.
 */
export function allowSlowAnswer(c: AppContext, seconds: number): void {
  const server = c.env as Server<unknown> | undefined;
  try {
    server?.timeout?.(c.req.raw, seconds);
  } catch {
    // not served by Bun.serve (app.request in a test): no idle limit to lift
  }
}
