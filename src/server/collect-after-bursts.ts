import type { ContainerChange } from "../containers/mirror.ts";

/** How often the count of containers that came and went is looked at. */
export const CHECK_EVERY_MS = 30_000;
/**
 * How many containers must have come or gone since the last collection for one to be worth its
 * pause: a full collection held the main thread 6–9 ms with no container, 25–40 ms at 1,000 on
 * this machine, and up to 400 ms while the engine was busy making them (docs/decisions.md).
 */
export const BURST_CONTAINERS = 50;

/** What the checks know: how many containers had come or gone at the last check and at the last collection. */
export interface BurstWatch {
  previous: number;
  collectedAt: number;
}

/**
 * One check, as a pure function of the watch and the running count of containers that came or
 * went: collect when at least `BURST_CONTAINERS` did since the last collection and none did since
 * the check before (the burst is over: collecting during it would only be done again).
 */
export function checkBurst(watch: BurstWatch, churn: number): { watch: BurstWatch; collect: boolean } {
  const collect = churn - watch.collectedAt >= BURST_CONTAINERS && churn === watch.previous;
  return { watch: { previous: churn, collectedAt: collect ? churn : watch.collectedAt }, collect };
}

/** How many containers a change brought or took away: what each one costs is kept per container. */
export function churnOf(change: ContainerChange): number {
  if (change.kind === "snapshot") return change.containers.length;
  if (change.kind === "remove") return 1;
  return change.before ? 0 : 1;
}

/**
 * Runs one full, synchronous garbage collection after each burst of containers arriving or
 * leaving (the start's first sync included). JSC collects in full only when its heap has grown
 * past its last size, and the allocators keep freed pages until then: a panel that watched 1,000
 * containers be made held 53 MiB of anonymous memory over the next 2 minutes (38 MiB with a
 * collection every 30 s), and 36 MiB when all were gone again, against 20 MiB with the
 * collections and 9.5 MiB before the first (docs/decisions.md). In between, nothing: a collection
 * every 30 s would stall every 30th tick of the stats. The timer never keeps the process alive.
 * Returns the stop.
 */
export function keepCollectingAfterBursts(
  onContainers: (listener: (envId: string, change: ContainerChange) => void) => () => void,
  collect: () => void = () => Bun.gc(true),
): () => void {
  let churn = 0;
  let watch: BurstWatch = { previous: 0, collectedAt: 0 };
  const unsubscribe = onContainers((_env, change) => {
    churn += churnOf(change);
  });
  const checks = setInterval(() => {
    const checked = checkBurst(watch, churn);
    watch = checked.watch;
    if (checked.collect) collect();
  }, CHECK_EVERY_MS);
  checks.unref();
  return () => {
    clearInterval(checks);
    unsubscribe();
  };
}
