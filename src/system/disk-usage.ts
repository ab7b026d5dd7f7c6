import type { Environment } from "../envs/environments.ts";
import type { DiskUsage, DiskUsageKind } from "../protocol/views.ts";

/** The engine's /system/df answer, as far as the panel reads it. */
export interface DfAnswer {
  LayersSize?: number;
  Images?:
    | {
        Id: string;
        RepoTags?: string[] | null;
        Created?: number;
        Size?: number;
        SharedSize?: number;
        Labels?: Record<string, string> | null;
        Containers?: number;
      }[]
    | null;
  Containers?:
    | {
        Id: string;
        Names?: string[] | null;
        State?: string;
        ImageID?: string;
        SizeRw?: number;
        Created?: number;
        Labels?: Record<string, string> | null;
      }[]
    | null;
  Volumes?:
    | {
        Name: string;
        Labels?: Record<string, string> | null;
        CreatedAt?: string;
        UsageData?: { Size?: number; RefCount?: number } | null;
      }[]
    | null;
  BuildCache?: { ID: string; Size?: number; InUse?: boolean; Shared?: boolean; LastUsedAt?: string }[] | null;
  BuilderSize?: number;
}

/**
 * How long an answer of /system/df is kept: it walks every layer and volume, which takes seconds
 * on a big engine, and several viewers of the System page would each start one. Answers say when
 * they were read.
 */
export const DF_MAX_AGE_MS = 15_000;
/** It may take minutes on a big engine, past the engine client's usual 30 s. */
const DF_TIMEOUT_MS = 5 * 60_000;

const cache = new WeakMap<Environment, { at: number; pending: boolean; answer: Promise<DfAnswer> }>();

/**
 * /system/df, no older than `maxAgeMs`. Callers arriving while it is asked share the one request
 * however fresh they want it: the engine runs one disk usage walk at a time and refuses a second
 * ("a disk usage operation is already running").
 */
export async function readDf(
  env: Environment,
  maxAgeMs = DF_MAX_AGE_MS,
): Promise<{ df: DfAnswer; at: number }> {
  const held = cache.get(env);
  if (held && (held.pending || Date.now() - held.at <= maxAgeMs))
    return { df: await held.answer, at: held.at };
  const entry = {
    at: Date.now(),
    pending: true,
    answer: env.engine.get<DfAnswer>("/system/df", AbortSignal.timeout(DF_TIMEOUT_MS)),
  };
  cache.set(env, entry);
  entry.answer.then(
    () => {
      entry.pending = false;
    },
    () => {
      entry.pending = false;
      // A failure is not kept: the next caller asks again.
      if (cache.get(env) === entry) cache.delete(env);
    },
  );
  return { df: await entry.answer, at: entry.at };
}

/** After a prune what was held is wrong. */
export function forgetDf(env: Environment): void {
  cache.delete(env);
}

const ACTIVE_STATES = new Set(["running", "paused", "restarting"]);
const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : 0);

/** Totals per kind, counted as `docker system df` counts them. */
export function diskUsageOf(df: DfAnswer, at: number): DiskUsage {
  const images = df.Images ?? [];
  const usedLayers = images
    .filter((i) => (i.Containers ?? 0) > 0 && (i.Size ?? -1) >= 0 && (i.SharedSize ?? -1) >= 0)
    .reduce((n, i) => n + (i.Size ?? 0) - (i.SharedSize ?? 0), 0);
  const layers = positive(df.LayersSize);
  const containers = df.Containers ?? [];
  const activeContainers = containers.filter((c) => ACTIVE_STATES.has(c.State ?? ""));
  const volumes = df.Volumes ?? [];
  const cacheItems = df.BuildCache ?? [];
  const builder = positive(df.BuilderSize);
  const sum = <T>(list: T[], size: (t: T) => number | undefined) =>
    list.reduce((n, t) => n + positive(size(t)), 0);
  const kind = (count: number, active: number, size: number, reclaimable: number): DiskUsageKind => ({
    count,
    active,
    size,
    reclaimable: Math.max(0, reclaimable),
  });
  return {
    images: kind(
      images.length,
      images.filter((i) => (i.Containers ?? 0) > 0).length,
      layers,
      layers - usedLayers,
    ),
    containers: kind(
      containers.length,
      activeContainers.length,
      sum(containers, (c) => c.SizeRw),
      sum(
        containers.filter((c) => !ACTIVE_STATES.has(c.State ?? "")),
        (c) => c.SizeRw,
      ),
    ),
    volumes: kind(
      volumes.length,
      volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length,
      sum(volumes, (v) => v.UsageData?.Size),
      sum(
        volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0),
        (v) => v.UsageData?.Size,
      ),
    ),
    build_cache: kind(
      cacheItems.length,
      cacheItems.filter((b) => b.InUse).length,
      builder,
      builder -
        sum(
          cacheItems.filter((b) => b.InUse && !b.Shared),
          (b) => b.Size,
        ),
    ),
    read_at: at,
  };
}
