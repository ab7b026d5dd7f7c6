import type { Environment } from "../envs/environments.ts";
import type { VolumeSizes } from "../protocol/views.ts";

/** Sizes younger than this are given as they are; a refresh asked sooner than MIN_AGE gets them too. */
const FRESH_MS = 5 * 60_000;
const MIN_AGE_MS = 5_000;
/** How long the engine is given to size every volume. */
export const SIZES_TIMEOUT_MS = 120_000;

interface Held {
  sizes?: VolumeSizes;
  reading?: Promise<VolumeSizes>;
}
const held = new WeakMap<Environment, Held>();

/**
 * The volumes' sizes from /system/df, which walks every volume on the engine's disk (seconds, on
 * a busy one): never on a list, only when asked, then kept, with when they were read. Callers
 * arriving while it is read share the one read.
 */
export function volumeSizes(env: Environment, refresh = false): Promise<VolumeSizes> {
  const h = held.get(env) ?? {};
  held.set(env, h);
  if (h.reading) return h.reading;
  const age = h.sizes ? Date.now() - Date.parse(h.sizes.at) : Number.POSITIVE_INFINITY;
  if (h.sizes && (age < MIN_AGE_MS || (!refresh && age < FRESH_MS))) return Promise.resolve(h.sizes);
  const at = new Date().toISOString();
  h.reading = env.engine
    .get<{ Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null }>(
      "/system/df",
      AbortSignal.timeout(SIZES_TIMEOUT_MS),
    )
    .then((df) => {
      const sizes: Record<string, number> = {};
      for (const v of df.Volumes ?? []) sizes[v.Name] = v.UsageData?.Size ?? -1;
      h.sizes = { at, sizes };
      return h.sizes;
    })
    .finally(() => {
      h.reading = undefined;
    });
  return h.reading;
}

/** The sizes read last, if any: for a preview that should not wait for the disk. */
export function cachedVolumeSizes(env: Environment): VolumeSizes | undefined {
  return held.get(env)?.sizes;
}
