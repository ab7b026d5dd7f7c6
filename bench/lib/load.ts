/** One request: resolves when the whole answer has been read, throws if it was not a success. */
export type Hit = () => Promise<void>;

/** Makes a Hit for a GET whose JSON array answer must have at least `minItems` items (checked on the first call). */
export function jsonListHit(url: string, init: RequestInit & { unix?: string }, minItems: number): Hit {
  let checked = false;
  return async () => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${new TextDecoder().decode(body)}`);
    if (!checked) {
      const items = JSON.parse(new TextDecoder().decode(body)) as unknown[];
      if (!Array.isArray(items) || items.length < minItems) {
        throw new Error(
          `GET ${url}: ${Array.isArray(items) ? items.length : "no"} items, expected ≥ ${minItems}`,
        );
      }
      checked = true;
    }
  };
}

/** `count` requests one after another; returns each one's latency in ms. */
export async function sequential(hit: Hit, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await hit();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/**
 * `loops` concurrent loops share `total` requests; stops early at `maxMs`.
 * Returns how many completed and how long it took.
 */
export async function concurrent(
  hit: Hit,
  loops: number,
  total: number,
  maxMs: number,
): Promise<{ count: number; ms: number }> {
  let started = 0;
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  const loop = async () => {
    while (started < total && performance.now() < deadline) {
      started++;
      await hit();
      done++;
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return { count: done, ms: performance.now() - t0 };
}
