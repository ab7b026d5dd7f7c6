import type { Server } from "bun";
import { REQUEST_TIMEOUT_MS } from "../engine/engine.ts";
import { CALL_BOUND_MS } from "../registries/client.ts";
import type { AppContext } from "./context.ts";

/** The longest idle timeout Bun keeps for one request: it takes a longer one as this. */
const MAX_SECONDS = 255;

/**
 * Lifts the server's idle timeout (10 s) for this one request: an upload streamed into the engine,
 * or an answer that waits for the engine's slow work (removing or pruning images), can be silent
 * longer than that without being stuck. Bun 1.4.4 cuts a request that came without a body (a
 * DELETE, a POST of query parameters), not one that carried a JSON body. `seconds`: 0 for no
 * limit. Past what Bun keeps (255 s) there is no limit either, rather than a cut before the
 * promised time: the slow work's own limit then bounds the answer.
 */
export function allowSlowRequest(c: AppContext, seconds: number): void {
  const server = c.env as Server<unknown> | undefined;
  try {
    server?.timeout?.(c.req.raw, seconds > MAX_SECONDS ? 0 : seconds);
  } catch {
    // not served by Bun.serve (a test calling app.fetch directly): no idle timeout to lift
  }
}

/**
 * For an answer that waits on one engine call limited to `engineMs`: as long as that call may take,
 * and one quick read after it (the refresh of what it changed).
 */
export function allowEngineWait(c: AppContext, engineMs: number): void {
  allowSlowRequest(c, Math.ceil((engineMs + REQUEST_TIMEOUT_MS) / 1000));
}

/**
 * For any signed-in caller's answer, which may wait on an engine call (bounded by the engine's own
 * limit) and the refresh after it. Routes that wait longer lift it further. Nobody who is not let in
 * holds a connection past the usual 10 s.
 */
export function allowAnyEngineCall(c: AppContext): void {
  allowEngineWait(c, REQUEST_TIMEOUT_MS);
}

/**
 * For an answer that waits on one call to a registry: a registry that answers slowly is silent
 * longer than the idle cut, which would drop the connection before the answer or the reason went out.
 */
export function allowRegistryWait(c: AppContext): void {
  allowSlowRequest(c, Math.ceil(CALL_BOUND_MS / 1000));
}
