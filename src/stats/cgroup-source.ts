import { existsSync, readdirSync, readFileSync } from "node:fs";
import { KernelFile } from "./kernel-file.ts";
import {
  blkioTotals,
  firstLineNumbers,
  ioStatTotals,
  isInterface,
  keyedNumber,
  netDevTotals,
  onlineCpus,
  wholeNumber,
} from "./kernel-parse.ts";
import type { RawSample, StatsSource, StatsTarget } from "./sample.ts";

export interface CgroupSourceOptions {
  /** Where the cgroup hierarchy is mounted; /sys/fs/cgroup unless a test points it at fixtures. */
  cgroupRoot?: string;
  /** Where proc is mounted; /proc unless a test points it at fixtures. */
  procRoot?: string;
  /** How long one slice of a read may hold the main thread, ms (SLICE_MS unless a test says). */
  sliceMs?: number;
  /** How long a read goes before it hands what it has to `onPart`, ms (PART_MS unless a test says). */
  partMs?: number;
  /** How long a read sleeps between two slices, ms (GAP_MS unless a test says). */
  gapMs?: number;
  /**
   * Read every container's files each tick, at rest or not. An agent's datagrams carry one time
   * per sample, so a second one (`counters_since`) cannot go with them.
   */
  everyTick?: boolean;
}

/** The files one container's figures come from, found once per container and kept open. */
interface ContainerFiles {
  v2: boolean;
  /** v1 cpuacct.usage (ns), v2 cpu.stat (usage_usec). */
  cpu: KernelFile;
  /** v1 memory.usage_in_bytes, v2 memory.current. */
  memUsage: KernelFile;
  memStat: KernelFile;
  /** v1 memory.limit_in_bytes, v2 memory.max. */
  memLimit: KernelFile;
  /** pids.current; undefined when the pids controller is not there for this container. */
  pids: KernelFile | undefined;
  /** v1 blkio.throttle.io_service_bytes, v2 io.stat; undefined when missing. */
  blk: KernelFile | undefined;
  /** v1 blkio.io_service_bytes, read when the throttle file names no device (CFQ/BFQ kernels). */
  blkFallback: KernelFile | undefined;
  /** /proc/<pid>/net/dev of the container's process, for `pid` */
  net: KernelFile;
  pid: number;
  /** What the last read gave, for the files not read again every tick (see sample()). */
  last?: RawSample;
  /** The read before it's sample, written over by the next read (RawSample's contract in sample.ts). */
  spare?: RawSample;
  /** memory usage as the kernel gave it last (inactive file pages included) */
  lastUsage: number;
  /** Ticks since this container's slow-moving files were last read. */
  age: number;
  /** Nothing moved at the last read of all its files: CPU, memory usage, network, block I/O. */
  still: boolean;
  /** When all its files were last read (its figures held since, while at rest). */
  fullAt: number;
}

/**
 * Slow-moving files (the memory limit, memory.stat when usage is steady, pids and block I/O while
 * the container uses no CPU) are read again at least this often, in ticks; each container's turn
 * falls on a different tick, so the extra reads are spread out.
 */
const REFRESH_TICKS = 10;

/**
 * The longest a read holds the main thread before it lets requests and frames through: a couple of
 * ms, about 30 containers' files (see docs/decisions.md, "The stats reader on the main thread").
 */
const SLICE_MS = 2;

/**
 * How long a read goes, in slices, before what it read so far goes out as a frame of its own: the
 * age of a frame at 1,000 containers is then that long, not the whole tick's reading (tens of ms,
 * stretched by a loaded machine). Each part costs a frame's few bytes of framing per subscriber.
 */
const PART_MS = 5;

/**
 * Between two slices the reader sleeps this long rather than only letting the event loop turn: it
 * gives the CPU up. On a machine its containers keep busy, 1,000 containers' reads back to back
 * (35–45 ms of CPU) ran ~3 ms, were preempted for 2–20 ms, ran again (perf sched), and every part's
 * figures waited through that. A reader that sleeps between slices is handed the CPU when it wakes
 * and reads each slice in one turn (docs/decisions.md, "The reader sleeps between slices").
 */
const GAP_MS = 1;

/** What every container's sample shares in one read: host CPU time, CPU count, host memory. */
interface HostFigures {
  system_ns: number;
  online_cpus: number;
  mem_total: number;
}

// dockerd's system_cpu_usage: the first seven fields of /proc/stat's "cpu" line (user nice system idle
// iowait irq softirq — steal left out) in USER_HZ ticks, which is 100 on every Linux build.
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
const SYSTEM_CPU_FIELDS = 7;

/**
 * Reads each container's counters straight from its cgroup files and its network namespace's
 * /proc/<pid>/net/dev: no engine call, a handful of small file reads per container (about 60 µs).
 * Handles cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy), with the cgroupfs
 * (`docker/<id>`) and systemd (`system.slice/docker-<id>.scope`) layouts, and any other parent
 * (--cgroup-parent) found through /proc/<pid>/cgroup.
 */
export class CgroupSource implements StatsSource {
  readonly name = "cgroup" as const;
  private readonly root: string;
  private readonly proc: string;
  private readonly v2: boolean;
  private readonly files = new Map<string, ContainerFiles>();
  private memTotal = 0;
  private readonly stat: KernelFile;
  private stagger = 0;
  private closed = false;
  private readonly sliceMs: number;
  private readonly partMs: number;
  private readonly gapMs: number;
  private readonly everyTick: boolean;

  constructor(options: CgroupSourceOptions = {}) {
    this.everyTick = options.everyTick ?? false;
    this.sliceMs = options.sliceMs ?? SLICE_MS;
    this.partMs = options.partMs ?? PART_MS;
    this.gapMs = options.gapMs ?? GAP_MS;
    this.root = trimSlash(options.cgroupRoot ?? "/sys/fs/cgroup");
    this.proc = trimSlash(options.procRoot ?? "/proc");
    this.v2 = existsSync(`${this.root}/cgroup.controllers`);
    this.stat = new KernelFile(this.proc, "stat");
  }

  /** "v1" or "v2", as found under the cgroup root. */
  get cgroupVersion(): "v1" | "v2" {
    return this.v2 ? "v2" : "v1";
  }

  /**
   * Whether this process can read the engine's containers from cgroup files. Only meaningful for a
   * local engine: the caller checks that.
   * - `probe` (a running container with its State.Pid): its cgroup directory is found and readable,
   *   and /proc/<pid> is that container's process (its cgroup names the container), so the network
   *   figures are its own. The best check.
   * - `containerId` alone: its cgroup directory is found under the usual layouts and readable.
   * - neither (no container running yet): whether the hierarchy has a Docker parent at all.
   */
  static available(
    options: CgroupSourceOptions & { probe?: StatsTarget; containerId?: string } = {},
  ): boolean {
    const source = new CgroupSource(options);
    try {
      const { probe, containerId } = options;
      if (probe && probe.pid > 0) {
        const cgroup = readFileSync(`${source.proc}/${probe.pid}/cgroup`, "utf8");
        if (!cgroup.includes(probe.id)) return false;
        return source.readNow([probe]).has(probe.id);
      }
      const id = probe?.id ?? containerId;
      if (!id) return source.hasDockerParent();
      const files = source.resolve({ id, pid: 0 });
      if (!files) return false;
      try {
        files.cpu.bytes();
        files.memUsage.bytes();
        return source.readHost() !== undefined;
      } finally {
        closeFiles(files);
      }
    } catch {
      return false;
    } finally {
      source.close();
    }
  }

  /**
   * Every target's figures, read on the main thread in slices of at most `sliceMs`, `gapMs` of
   * sleep between them (the event loop runs meanwhile): at 1,000 containers a tick is some 3,000
   * small reads (tens of ms), which would otherwise hold every request and frame up for that long.
   * Each slice reads the host's CPU time again and stamps its own samples, so a container's rate is
   * over its own interval. Every `partMs` or more since the last part (sleeps included), what was
   * read is handed to `onPart`, so that the first containers' figures do not wait for the last
   * ones' to be read.
   */
  async read(
    targets: readonly StatsTarget[],
    onPart?: (part: Map<string, RawSample>) => void,
  ): Promise<Map<string, RawSample>> {
    const out = new Map<string, RawSample>();
    // One map for every part: `onPart` reads it before the read goes on (sample.ts).
    const part = new Map<string, RawSample>();
    let partFrom = performance.now();
    let partStart = 0;
    let i = 0;
    while (i < targets.length && !this.closed) {
      if (i > 0) await Bun.sleep(this.gapMs);
      if (this.closed) break;
      i = this.readSlice(targets, i, out);
      if (i < 0) return out;
      if (onPart && i < targets.length && performance.now() - partFrom >= this.partMs) {
        part.clear();
        for (let k = partStart; k < i; k++) {
          const sample = out.get(targets[k]!.id);
          if (sample) part.set(targets[k]!.id, sample);
        }
        onPart(part);
        partStart = i;
        partFrom = performance.now();
      }
    }
    this.release(targets, out);
    return out;
  }

  /** The same as read(), in one go: for the probe in available(). */
  readNow(targets: readonly StatsTarget[]): Map<string, RawSample> {
    const out = new Map<string, RawSample>();
    for (let i = 0; i >= 0 && i < targets.length; )
      i = this.readSlice(targets, i, out, Number.POSITIVE_INFINITY);
    this.release(targets, out);
    return out;
  }

  /** Reads targets from `from` on until `budgetMs` has passed; the next index, or -1 without the host's figures. */
  private readSlice(
    targets: readonly StatsTarget[],
    from: number,
    out: Map<string, RawSample>,
    budgetMs = this.sliceMs,
  ): number {
    const started = performance.now();
    const host = this.readHost();
    if (!host) return -1;
    const at = Date.now();
    let i = from;
    do {
      const t = targets[i++]!;
      const sample = this.readOne(t, host, at);
      if (sample) out.set(t.id, sample);
    } while (i < targets.length && performance.now() - started < budgetMs);
    return i;
  }

  /** Containers no longer asked for (stopped, removed) keep no descriptors nor figures. */
  private release(targets: readonly StatsTarget[], out: Map<string, RawSample>): void {
    if (this.files.size <= out.size) return;
    const asked = new Set(targets.map((t) => t.id));
    for (const id of this.files.keys()) if (!asked.has(id)) this.forget(id);
  }

  close(): void {
    this.closed = true;
    for (const id of this.files.keys()) this.forget(id);
    this.stat.close();
  }

  private forget(id: string): void {
    const f = this.files.get(id);
    if (f) closeFiles(f);
    this.files.delete(id);
  }

  private readOne(t: StatsTarget, host: HostFigures, at: number): RawSample | undefined {
    if (!t.pid || t.pid <= 0) return undefined;
    let f = this.files.get(t.id);
    try {
      if (!f) {
        f = this.resolve(t);
        if (!f) return undefined;
        this.files.set(t.id, f);
      } else if (f.pid !== t.pid) {
        // The container restarted: its process, and maybe its network namespace, are new.
        f.net.close();
        f.net = netDev(this.proc, t.pid);
        f.pid = t.pid;
        f.last = undefined;
      }
      return this.sample(f, host, at);
    } catch {
      // Gone (the container stopped, its cgroup was removed) or unreadable: left out this time, and
      // its paths found again next time in case it came back somewhere else.
      this.forget(t.id);
      return undefined;
    }
  }

  /**
   * The CPU time every tick; the rest only when it may have moved. A container at rest (nothing
   * moved at its last full read, and its CPU time still the same) costs that one read: its memory,
   * network and block counters are held until its CPU moves or its turn to refresh comes (every
   * REFRESH_TICKS). What moved meanwhile is put on the last tick when its CPU moved (its processes
   * did it), and on the whole time since its last full read when it did not (`counters_since`:
   * echo requests the kernel answered, say). Otherwise: memory usage and the network every tick,
   * memory.stat (for the inactive file pages) when usage changed, pids and block I/O when the
   * container used CPU, the limit only on refresh. Most of a host's containers are at rest
   * (docs/decisions.md, "Containers at rest: one read a tick").
   */
  private sample(f: ContainerFiles, host: HostFigures, at: number): RawSample | undefined {
    const prev = f.last;
    const refresh = !prev || ++f.age >= REFRESH_TICKS;
    // Not on the first read: that would undo the stagger, and every container would refresh at once.
    if (refresh && prev) f.age = 0;
    const cpu_ns = f.v2
      ? (keyedNumber(f.cpu.bytes(), "usage_usec ") ?? Number.NaN) * 1000
      : wholeNumber(f.cpu.bytes());
    if (!Number.isFinite(cpu_ns)) return undefined;
    // Two samples a container, taking turns: a new object per container per tick was garbage.
    const sample = f.spare ?? ({} as RawSample);
    sample.at = at;
    sample.cpu_ns = cpu_ns;
    sample.system_ns = host.system_ns;
    sample.online_cpus = host.online_cpus;
    if (prev && !refresh && f.still && cpu_ns === prev.cpu_ns && !this.everyTick) {
      sample.mem_usage = prev.mem_usage;
      sample.mem_limit = prev.mem_limit;
      sample.pids = prev.pids;
      sample.blk_read = prev.blk_read;
      sample.blk_write = prev.blk_write;
      sample.net_rx = prev.net_rx;
      sample.net_tx = prev.net_tx;
      sample.counters_since = undefined;
      f.spare = prev;
      f.last = sample;
      return sample;
    }
    const usage = wholeNumber(f.memUsage.bytes());
    if (!Number.isFinite(usage)) return undefined;
    netDevTotals(f.net.bytes(), notLoopback, netFields);
    const net_rx = netFields[0]!;
    const net_tx = netFields[1]!;
    let mem_usage: number;
    if (!refresh && prev && usage === f.lastUsage) {
      mem_usage = prev.mem_usage;
    } else {
      const inactive = keyedNumber(f.memStat.bytes(), f.v2 ? "inactive_file " : "total_inactive_file ") ?? 0;
      // As the docker CLI: inactive file pages are left out, unless the figures make no sense.
      mem_usage = inactive < usage ? usage - inactive : usage;
    }
    let mem_limit = prev?.mem_limit ?? host.mem_total;
    if (refresh) {
      const limit = wholeNumber(f.memLimit.bytes()); // v2 "max" gives NaN: no limit
      mem_limit = Number.isFinite(limit) && limit > 0 && limit < host.mem_total ? limit : host.mem_total;
    }
    let { pids = 0, blk_read = 0, blk_write = 0 } = prev ?? {};
    const cpuMoved = !prev || cpu_ns !== prev.cpu_ns;
    if (refresh || cpuMoved) {
      const n = f.pids ? wholeNumber(f.pids.bytes()) : 0;
      pids = Number.isFinite(n) ? n : 0;
      [blk_read, blk_write] = f.v2 ? ioStat(f.blk) : blkioThrottle(f.blk, f.blkFallback);
    }
    f.still =
      prev !== undefined &&
      !cpuMoved &&
      usage === f.lastUsage &&
      net_rx === prev.net_rx &&
      net_tx === prev.net_tx &&
      blk_read === prev.blk_read &&
      blk_write === prev.blk_write;
    sample.mem_usage = mem_usage;
    sample.mem_limit = mem_limit;
    sample.pids = pids;
    sample.blk_read = blk_read;
    sample.blk_write = blk_write;
    sample.net_rx = net_rx;
    sample.net_tx = net_tx;
    sample.counters_since = !cpuMoved && prev && f.fullAt < prev.at ? f.fullAt : undefined;
    f.fullAt = at;
    f.spare = prev;
    f.last = sample;
    f.lastUsage = usage;
    return sample;
  }

  private readHost(): HostFigures | undefined {
    try {
      const stat = this.stat.bytes();
      const system_ns = systemCpuNs(stat);
      if (system_ns === undefined) return undefined;
      const online_cpus = onlineCpus(stat);
      if (!this.memTotal)
        this.memTotal = (keyedNumber(readFileSync(`${this.proc}/meminfo`), "MemTotal:") ?? 0) * 1024;
      return { system_ns, online_cpus, mem_total: this.memTotal };
    } catch {
      return undefined;
    }
  }

  /** Finds a container's cgroup directories: the usual layouts first, then /proc/<pid>/cgroup. */
  private resolve(t: StatsTarget): ContainerFiles | undefined {
    const usual = [`docker/${t.id}`, `system.slice/docker-${t.id}.scope`];
    if (this.v2) {
      for (const rel of usual) {
        const dir = `${this.root}/${rel}`;
        if (existsSync(`${dir}/cpu.stat`)) return this.v2Files(dir, t.pid);
      }
      const rel = this.procCgroups(t.pid).get("");
      if (rel?.includes(t.id) && existsSync(`${this.root}${rel}/cpu.stat`)) {
        return this.v2Files(`${this.root}${rel}`, t.pid);
      }
      return undefined;
    }
    // One path per controller: the usual layout, else what /proc/<pid>/cgroup says (v1 lines are
    // "N:cpu,cpuacct:/docker/<id>"; the controller's hierarchy is mounted under one of `mounts`).
    let own: Map<string, string> | undefined;
    const dirOf = (controller: string, mounts: string[], file: string): string | undefined => {
      for (const rel of usual) {
        for (const mount of mounts) {
          const dir = `${this.root}/${mount}/${rel}`;
          if (existsSync(`${dir}/${file}`)) return dir;
        }
      }
      own ??= this.procCgroups(t.pid);
      for (const [key, path] of own) {
        // Only a path that names the container: never the host's (or a namespace's) root.
        if (!key.split(",").includes(controller) || !path.includes(t.id)) continue;
        for (const mount of [key, ...mounts]) {
          const dir = `${this.root}/${mount}${path}`;
          if (existsSync(`${dir}/${file}`)) return dir;
        }
      }
      return undefined;
    };
    const memory = dirOf("memory", ["memory"], "memory.usage_in_bytes");
    if (memory === undefined) return undefined;
    const cpu = dirOf("cpuacct", ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"], "cpuacct.usage");
    if (cpu === undefined) return undefined;
    const pids = dirOf("pids", ["pids"], "pids.current");
    const blkio = dirOf("blkio", ["blkio"], "blkio.throttle.io_service_bytes");
    return {
      v2: false,
      cpu: new KernelFile(cpu, "cpuacct.usage"),
      memUsage: new KernelFile(memory, "memory.usage_in_bytes"),
      memStat: new KernelFile(memory, "memory.stat"),
      memLimit: new KernelFile(memory, "memory.limit_in_bytes"),
      pids: optionalFile(pids, "pids.current"),
      blk: optionalFile(blkio, "blkio.throttle.io_service_bytes"),
      blkFallback: optionalFile(blkio, "blkio.io_service_bytes"),
      ...this.netFile(t.pid),
    };
  }

  private v2Files(dir: string, pid: number): ContainerFiles {
    return {
      v2: true,
      cpu: new KernelFile(dir, "cpu.stat"),
      memUsage: new KernelFile(dir, "memory.current"),
      memStat: new KernelFile(dir, "memory.stat"),
      memLimit: new KernelFile(dir, "memory.max"),
      pids: optionalFile(dir, "pids.current"),
      blk: optionalFile(dir, "io.stat"),
      blkFallback: undefined,
      ...this.netFile(pid),
    };
  }

  /** The per-process file, and the bookkeeping every container starts with. */
  private netFile(
    pid: number,
  ): Pick<ContainerFiles, "net" | "pid" | "age" | "lastUsage" | "still" | "fullAt"> {
    // Each container's refresh falls on its own tick, so those reads do not all come at once.
    this.stagger = (this.stagger + 1) % REFRESH_TICKS;
    return { net: netDev(this.proc, pid), pid, age: this.stagger, lastUsage: -1, still: false, fullAt: 0 };
  }

  /** /proc/<pid>/cgroup as controller list → path ("" is the v2 hierarchy). */
  private procCgroups(pid: number): Map<string, string> {
    const out = new Map<string, string>();
    if (!(pid > 0)) return out;
    let text: string;
    try {
      text = read(`${this.proc}/${pid}/cgroup`);
    } catch {
      return out;
    }
    for (const line of text.split("\n")) {
      const a = line.indexOf(":");
      const b = line.indexOf(":", a + 1);
      if (a < 0 || b < 0) continue;
      out.set(line.slice(a + 1, b), line.slice(b + 1));
    }
    return out;
  }

  /** Whether some container cgroup parent of Docker's is there (no container to check against). */
  private hasDockerParent(): boolean {
    const base = this.v2 ? this.root : `${this.root}/memory`;
    if (existsSync(`${base}/docker`)) return true;
    try {
      return readdirSync(`${base}/system.slice`).some((d) => d.startsWith("docker-") && d.endsWith(".scope"));
    } catch {
      return false;
    }
  }
}

function read(path: string): string {
  return readFileSync(path, "utf8");
}

function optionalFile(dir: string | undefined, name: string): KernelFile | undefined {
  return dir !== undefined && existsSync(`${dir}/${name}`) ? new KernelFile(dir, name) : undefined;
}

/** The network counters of a container's process: its namespace's, read through /proc/<pid>. */
function netDev(proc: string, pid: number): KernelFile {
  return new KernelFile(`${proc}/${pid}`, "net/dev");
}

function closeFiles(f: ContainerFiles): void {
  for (const file of [f.cpu, f.memUsage, f.memStat, f.memLimit, f.pids, f.blk, f.blkFallback, f.net])
    file?.close();
}
function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

const cpuFields = new Float64Array(SYSTEM_CPU_FIELDS);
const netFields = new Float64Array(2);

/** dockerd's system_cpu_usage from /proc/stat, ns. */
function systemCpuNs(stat: Uint8Array): number | undefined {
  if (firstLineNumbers(stat, "cpu ", cpuFields) < SYSTEM_CPU_FIELDS) return undefined;
  let ticks = 0;
  for (const v of cpuFields) ticks += v;
  return ticks * NS_PER_TICK;
}

function notLoopback(b: Uint8Array, from: number, to: number): boolean {
  return !isInterface(b, from, to, "lo");
}

/** Read and write bytes of a v1 blkio file: the "Read" and "Write" lines summed over devices. */
function blkioThrottle(file: KernelFile | undefined, fallback: KernelFile | undefined): [number, number] {
  if (!file) return [0, 0];
  let r = blkioTotals(file.bytes());
  if (r[2] === 0 && fallback) {
    try {
      r = blkioTotals(fallback.bytes());
    } catch {
      // the fallback is optional
    }
  }
  return [r[0], r[1]];
}

function ioStat(file: KernelFile | undefined): [number, number] {
  return file ? ioStatTotals(file.bytes()) : [0, 0];
}
