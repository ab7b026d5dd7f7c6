import type { MiddlewareHandler } from "hono";
import { addressBlock, clientAddress } from "./client-address.ts";
import type { AppEnv } from "./context.ts";
import { errorBody } from "./errors.ts";

/** How many addresses are remembered at once; beyond it the longest-untouched one is forgotten. */
const MAX_ADDRESSES = 10_000;

/**
 * A token bucket per address for requests without valid credentials that end refused (4xx): an
 * address may be refused `perMinute` times in a burst, then once every 60/perMinute seconds.
 * Memory only — a restart forgets it — and the map is bounded, the longest-untouched address
 * forgotten first; a bucket given back to full is dropped.
 */
export class AnonymousLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly maxAddresses = MAX_ADDRESSES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one refusal from the address's bucket: 0, or the milliseconds until one is there. */
  take(address: string): number {
    const now = this.now();
    const tokens = this.tokens(address, now);
    const allowed = tokens >= 1;
    // Put back even when refused: an address that keeps trying is the one worth remembering.
    this.put(address, allowed ? tokens - 1 : tokens, now);
    return allowed ? 0 : Math.ceil(((1 - tokens) * 60_000) / this.perMinute);
  }

  /** Gives a taken refusal back: the request was not refused after all. */
  giveBack(address: string): void {
    const now = this.now();
    const tokens = Math.min(this.perMinute, this.tokens(address, now) + 1);
    if (tokens >= this.perMinute) this.buckets.delete(address);
    else this.put(address, tokens, now);
  }

  private tokens(address: string, now: number): number {
    const bucket = this.buckets.get(address);
    if (!bucket) return this.perMinute;
    return Math.min(this.perMinute, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
  }

  private put(address: string, tokens: number, at: number): void {
    // Deleted first so that the Map's order stays least recently touched first.
    this.buckets.delete(address);
    if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(address, { tokens, at });
  }
}

/**
 * Refuses (429, Retry-After) a caller without valid credentials whose address has been refused too
 * often, before anything else is done for it. The refusal is taken when the request starts and
 * given back when it was not refused: requests sent side by side cannot all pass a full bucket.
 * Logged-in callers never meet it. After the caller is identified, before any route.
 */
export function limitAnonymous(limit: AnonymousLimit): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("caller")) return next();
    const address = addressBlock(clientAddress(c));
    const wait = limit.take(address);
    if (wait > 0) {
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      return c.json(errorBody("rate_limited", "too many refused requests from this address: slow down"), 429);
    }
    await next();
    if (c.res.status < 400 || c.res.status >= 500) limit.giveBack(address);
  };
}
