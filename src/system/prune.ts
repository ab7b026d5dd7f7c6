import { EngineError } from "../engine/errors.ts";
import { type Environment, listOf } from "../envs/environments.ts";
import { NETWORKS } from "../networks/kind.ts";
import type { NetworkAnswer } from "../networks/view.ts";
import type { PruneReport } from "../protocol/views.ts";
import { type DfAnswer, forgetDf, readDf } from "./disk-usage.ts";
import { engineFilters, type PruneFilters, withinFilters } from "./prune-filters.ts";

/** What a prune of everything unused takes beyond stopped containers, unused networks and dangling images. */
export interface PruneOptions {
  /** every image no container uses, not only untagged ones */
  allImages: boolean;
  /** unused volumes too (their data is lost) */
  volumes: boolean;
}

type Named = { id: string; name: string };

/** A prune walks every object of its kind and deletes layers from disk: minutes on a big engine. */
export const PRUNE_TIMEOUT_MS = 10 * 60_000;

/**
 * The networks a prune would remove: the engine's rule (not one of its own, local, matching the
 * filters, and no endpoint — a stopped container has none, and loses the network) read from each
 * candidate's inspect, since the list carries no endpoints.
 */
export async function previewNetworkPrune(env: Environment, f: PruneFilters): Promise<Named[]> {
  const candidates = listOf(env, NETWORKS)
    .list()
    .filter(
      (n) => !n.builtin && n.scope === "local" && withinFilters(f, n.labels, Date.parse(n.created) / 1000),
    );
  const unused: Named[] = [];
  for (const n of candidates) {
    const inspect = await env.engine.get<NetworkAnswer>(`/networks/${n.id}`).catch((err) => {
      if (err instanceof EngineError && err.status === 404) return undefined;
      throw err;
    });
    if (inspect && Object.keys(inspect.Containers ?? {}).length === 0)
      unused.push({ id: n.id, name: n.name });
  }
  return unused;
}

export async function pruneNetworks(env: Environment, f: PruneFilters): Promise<Named[]> {
  const mirror = listOf(env, NETWORKS);
  const byName = new Map(mirror.list().map((n) => [n.name, n.id]));
  const answer = await env.engine.send<{ NetworksDeleted?: string[] | null }>(
    "POST",
    `/networks/prune?${engineFilters(f)}`,
    { timeoutMs: PRUNE_TIMEOUT_MS },
  );
  await mirror.refresh().catch(() => {});
  return (answer?.NetworksDeleted ?? []).map((name) => ({ id: byName.get(name) ?? "", name }));
}

const RUNNING = new Set(["running", "paused", "restarting"]);
const isDangling = (tags: string[] | null | undefined) =>
  !tags?.length || tags.every((t) => t === "<none>:<none>");
const filtered = (f: PruneFilters) => f.labels.length > 0;

/**
 * Kinds whose engine prune cannot take the filters given: the build cache has no labels, volumes
 * no age. They are left out rather than pruned whole, and the report says so.
 */
function skipped(f: PruneFilters, options: PruneOptions): { volumes?: string; buildCache?: string } {
  return {
    ...(options.volumes && f.until !== undefined
      ? { volumes: "volumes: the engine cannot filter volumes by age, so none were taken" }
      : {}),
    ...(filtered(f)
      ? { buildCache: "build cache: it carries no labels, so a label filter leaves it alone" }
      : {}),
  };
}

/**
 * What a prune of everything unused would remove and about how much it frees, from /system/df (a
 * fresh read) and the network list. Image sizes are what each image holds alone: layers shared with
 * images that stay are not freed.
 */
export async function previewSystemPrune(
  env: Environment,
  f: PruneFilters,
  options: PruneOptions,
): Promise<PruneReport> {
  const { df } = await readDf(env, 0);
  const skip = skipped(f, options);
  const containers = (df.Containers ?? [])
    .filter((c) => !RUNNING.has(c.State ?? "") && withinFilters(f, c.Labels, c.Created ?? 0))
    .map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
      size: Math.max(0, c.SizeRw ?? 0),
    }));
  const going = new Set(containers.map((c) => c.id));
  const images = imagesToPrune(df, f, options, going);
  const volumes =
    options.volumes && !skip.volumes
      ? (df.Volumes ?? [])
          .filter((v) => (v.UsageData?.RefCount ?? 0) === 0 && withinFilters(f, v.Labels, 0))
          .filter((v) => !anonymousOnly(env) || v.Labels?.["com.docker.volume.anonymous"] !== undefined)
          .map((v) => ({ name: v.Name, size: Math.max(0, v.UsageData?.Size ?? 0) }))
      : [];
  const build_cache = skip.buildCache
    ? []
    : (df.BuildCache ?? [])
        .filter((b) => !b.InUse && (f.until === undefined || Date.parse(b.LastUsedAt ?? "") / 1000 < f.until))
        .map((b) => ({ id: b.ID, size: Math.max(0, b.Size ?? 0) }));
  const networks = await previewNetworkPrune(env, f);
  const space = [...containers, ...images, ...volumes, ...build_cache].reduce((n, x) => n + x.size, 0);
  return { containers, images, networks, volumes, build_cache, space, skipped: Object.values(skip) };
}

/**
 * Images no container uses (once the stopped ones that go are gone): untagged only, unless all.
 * An image a stopped container uses goes only after that container: /system/df counts it as used.
 */
function imagesToPrune(df: DfAnswer, f: PruneFilters, options: PruneOptions, going: Set<string>) {
  const used = new Set<string>();
  for (const c of df.Containers ?? []) if (!going.has(c.Id) && c.ImageID) used.add(c.ImageID);
  return (df.Images ?? [])
    .filter((i) => (options.allImages || isDangling(i.RepoTags)) && !used.has(i.Id))
    .filter((i) => withinFilters(f, i.Labels, i.Created ?? 0))
    .map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
      size: Math.max(0, (i.Size ?? 0) - Math.max(0, i.SharedSize ?? 0)),
    }));
}

/** The build cache takes its age as a duration ("3600s"), not a time; it has no labels (skipped before). */
function buildFilters(f: PruneFilters): string {
  const age = f.until === undefined ? undefined : Math.max(0, Math.floor(Date.now() / 1000) - f.until);
  return engineFilters({ labels: [], until: undefined }, age === undefined ? {} : { until: [`${age}s`] });
}

/** From API 1.42 a volume prune takes anonymous volumes only (named ones need `all`). */
function anonymousOnly(env: Environment): boolean {
  const [major = 0, minor = 0] = (env.engine.facts?.api_version ?? "0.0").split(".").map(Number);
  return major > 1 || (major === 1 && minor >= 42);
}

/**
 * Prunes, kind by kind as the CLI's `system prune` does: stopped containers first (so what they
 * held is unused next), networks, volumes if asked, images, build cache. Every engine call carries
 * the same filters; a kind that cannot take them is skipped, never pruned whole.
 */
export async function pruneSystem(
  env: Environment,
  f: PruneFilters,
  options: PruneOptions,
): Promise<PruneReport> {
  const filters = engineFilters(f);
  const skip = skipped(f, options);
  const names = new Map(env.containers.list().map((c) => [c.id, c.name]));
  const report: PruneReport = {
    containers: [],
    images: [],
    networks: [],
    volumes: [],
    build_cache: [],
    space: 0,
    skipped: Object.values(skip),
  };
  try {
    const c = await env.engine.send<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>(
      "POST",
      `/containers/prune?${filters}`,
      { timeoutMs: PRUNE_TIMEOUT_MS },
    );
    report.containers = (c?.ContainersDeleted ?? []).map((id) => ({
      id,
      name: names.get(id) ?? id,
      size: 0,
    }));
    report.space += c?.SpaceReclaimed ?? 0;
    report.networks = await pruneNetworks(env, f);
    if (options.volumes && !skip.volumes) {
      const v = await env.engine.send<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>(
        "POST",
        `/volumes/prune?${filters}`,
        { timeoutMs: PRUNE_TIMEOUT_MS },
      );
      report.volumes = (v?.VolumesDeleted ?? []).map((name) => ({ name, size: 0 }));
      report.space += v?.SpaceReclaimed ?? 0;
    }
    const imageFilters = engineFilters(f, { dangling: [options.allImages ? "false" : "true"] });
    const i = await env.engine.send<{
      ImagesDeleted?: { Deleted?: string; Untagged?: string }[] | null;
      SpaceReclaimed?: number;
    }>("POST", `/images/prune?${imageFilters}`, { timeoutMs: PRUNE_TIMEOUT_MS });
    report.images = (i?.ImagesDeleted ?? [])
      .filter((d) => d.Deleted)
      .map((d) => ({ id: d.Deleted!, tags: [], size: 0 }));
    report.space += i?.SpaceReclaimed ?? 0;
    if (!skip.buildCache) {
      const b = await env.engine.send<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>(
        "POST",
        `/build/prune?${buildFilters(f)}${options.allImages ? "&all=1" : ""}`,
        { timeoutMs: PRUNE_TIMEOUT_MS },
      );
      report.build_cache = (b?.CachesDeleted ?? []).map((id) => ({ id, size: 0 }));
      report.space += b?.SpaceReclaimed ?? 0;
    }
  } finally {
    forgetDf(env);
  }
  return report;
}
