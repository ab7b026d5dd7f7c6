import type { Server } from "bun";
import type { AppContext } from "./context.ts";

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

/**
 * Whom a per-address limit counts: an IPv4 address, or the /64 an IPv6 address is in — one
 * subscriber is usually handed a whole /64, and counting its addresses one by one would give it
 * 2^64 fresh starts. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as the IPv4 address.
 */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("%")[0]!.split("::");
  const front = head ? head.split(":") : [];
  const back = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? front
      : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(":")}::/64`;
}
