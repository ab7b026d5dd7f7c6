import type { Server } from "bun";
import type { AppContext } from "./route-table.ts";

/**
 * The peer's IP address, from the socket (Bun passes the server as the fetch handler's env).
 * X-Forwarded-For is not trusted: anyone can send it, and it would let a guesser pick its own
 * address for the login throttle.
 */
export function clientAddress(c: AppContext): string {
  const server = c.env as Server<unknown> | undefined;
  try {
    return server?.requestIP?.(c.req.raw)?.address ?? "";
  } catch {
    return "";
  }
}
