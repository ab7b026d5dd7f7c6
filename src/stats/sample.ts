/**
 * One container's counters at one instant, as the kernel (cgroup files) or the engine (its stats
 * API) reports them. Cumulative counters stay cumulative: rates are the collector's business.
 */
export interface RawSample {
  /** When it was read, ms since the epoch. */
  at: number;
  /** CPU time the container has used, ns, cumulative. */
  cpu_ns: number;
  /** CPU time the whole host has used, ns, cumulative (Docker's system_cpu_usage); the CPU % denominator. */
  system_ns: number;
  online_cpus: number;
  /** Bytes in use, page cache that can be reclaimed (inactive file) left out: what `docker stats` shows. */
  mem_usage: number;
  /** Bytes; the host's memory when the container has no limit. */
  mem_limit: number;
  pids: number;
  /** Cumulative bytes. */
  blk_read: number;
  blk_write: number;
  net_rx: number;
  net_tx: number;
  /**
   * Set when what the memory, pids, block and network counters moved by since the sample before
   * built up from this earlier time on: the source held them unread since then (a container at
   * rest) and they moved without the container's CPU time, so when within it is not known. Their
   * rates are over that whole time. Unset, over the time since the sample before.
   */
  counters_since?: number;
}

/** A running container as a source needs it. */
export interface StatsTarget {
  id: string;
  /** The container's init process on the host (State.Pid), for its network namespace. */
  pid: number;
}

/** Where samples come from: cgroup files read directly, or the engine's streaming stats API. */
export interface StatsSource {
  readonly name: "cgroup" | "docker";
  /**
   * The newest sample of each target it can read. Targets it cannot read (gone, not yet started)
   * are left out rather than failing the rest. A source whose read takes long (the cgroup files
   * of hundreds of containers) may hand what it has read so far to `onPart` on the way, so those
   * figures need not wait for the rest; the map it resolves to holds every sample all the same.
   * `onPart`'s map is the source's own, good only during the call. A sample object may be written
   * over two reads later (the cgroup source reuses them): keep one only until the next read.
   */
  read(
    targets: readonly StatsTarget[],
    onPart?: (part: Map<string, RawSample>) => void,
  ): Promise<Map<string, RawSample>>;
  close(): void;
}

/** Docker's CPU % (the CLI's formula): the container's share of the host's CPU time, times the CPUs. */
export function cpuPercent(prev: RawSample, cur: RawSample): number {
  const cpu = cur.cpu_ns - prev.cpu_ns;
  const system = cur.system_ns - prev.system_ns;
  if (cpu <= 0 || system <= 0) return 0;
  return (cpu / system) * cur.online_cpus * 100;
}
