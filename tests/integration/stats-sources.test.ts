import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { CgroupSource } from "../../src/stats/cgroup-source.ts";
import { DockerStatsSource } from "../../src/stats/docker-source.ts";
import { cpuPercent, type StatsSource, type StatsTarget } from "../../src/stats/sample.ts";
import { cleanupEngine, docker, eventually, PREFIX, runContainer, uniqueName } from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";

/*
 * Tolerances, and why:
 * - CPU: within 15 percentage points of `docker stats`. Both use the same formula and the same
 *   counters, but over different windows: ours spans the ~2 s between two reads, the CLI's the ~1 s
 *   between the daemon's two samples inside it. A `yes` burner on this 2-CPU host shares the CPUs
 *   with the other burner, the daemon and whatever else runs here, so its share moves by several
 *   points from one second to the next; the --cpus 0.5 one is capped by CFS quota (50 ms per 100 ms),
 *   so it sits at 50 % give or take a period's slack.
 * - Memory: within 5 % or 2 MiB, whichever is larger. Same counters (usage less inactive file), read
 *   at slightly different instants, and the CLI prints only 4 significant digits ("64.72MiB").
 * - Limit: within 0.5 % (the CLI's rounding of "23.54GiB").
 */
const CPU_TOLERANCE = 15;
const MEM_TOLERANCE_RATIO = 0.05;
const MEM_TOLERANCE_BYTES = 2 * 1024 * 1024;

interface CliStats {
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  PIDs: string;
}

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

function bytes(text: string): number {
  const m = /^([\d.]+)\s*([A-Za-z]+)$/.exec(text.trim());
  if (!m || UNITS[m[2]!] === undefined) throw new Error(`cannot read "${text}" as bytes`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** `docker stats --no-stream` for the given containers, started now and awaited later. */
function dockerStatsCli(names: string[]): Promise<Map<string, { cpu: number; mem: number; limit: number }>> {
  const proc = Bun.spawn(["docker", "stats", "--no-stream", "--format", "{{json .}}", ...names], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(), 20_000);
  return (async () => {
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(killer);
    if (code !== 0) throw new Error(`docker stats failed (${code}): ${err}`);
    const result = new Map<string, { cpu: number; mem: number; limit: number }>();
    for (const line of out.split("\n").filter(Boolean)) {
      const s = JSON.parse(line) as CliStats;
      const [used, limit] = s.MemUsage.split(" / ");
      result.set(s.Name, { cpu: Number.parseFloat(s.CPUPerc), mem: bytes(used!), limit: bytes(limit!) });
    }
    return result;
  })();
}

interface Box extends StatsTarget {
  name: string;
}

function start(hint: string, command: string[], extra: string[]): Box {
  const name = uniqueName(hint);
  let id: string;
  try {
    id = runContainer(name, command, extra);
  } catch (err) {
    // The default bridge has been seen deleted by another engineer's daemon on this machine.
    if (!/docker0/.test(String(err))) throw err;
    docker("rm", "-f", name);
    id = runContainer(name, command, [...extra, "--network", "none"]);
  }
  return { id, name, pid: Number(docker("inspect", "-f", "{{.State.Pid}}", id)) };
}

const MiB = 1024 * 1024;

/** The host's "cpu" line of /proc/stat, in ticks. */
function readProcStat(): number[] {
  return readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
}

/** The share of CPU time the hypervisor took (steal) between two /proc/stat readings. */
function stealShare(a: number[], b: number[]): number {
  const d = b.map((v, i) => v - a[i]!);
  const total = d.slice(0, 8).reduce((x, y) => x + y, 0);
  return total > 0 ? d[7]! / total : 0;
}

describe("stats sources against `docker stats`", () => {
  let client: DockerHttpEngine;
  let burner: Box;
  let half: Box;
  let holder: Box;
  let boxes: Box[];

  beforeAll(async () => {
    client = new DockerHttpEngine(parseEngineUrl("unix:///var/run/docker.sock"));
    await client.connect();
    burner = start("burn", ["sh", "-c", "yes >/dev/null"], []);
    half = start("half", ["sh", "-c", "yes >/dev/null"], ["--cpus", "0.5"]);
    // 64 MiB written to the container's own tmpfs: shmem, charged to its memory cgroup and not
    // inactive *file* pages, so it stays in the figure `docker stats` shows.
    holder = start(
      "mem",
      ["sh", "-c", "dd if=/dev/zero of=/dev/shm/x bs=1M count=64 2>/dev/null; sleep 3600"],
      ["--shm-size", "128m"],
    );
    boxes = [burner, half, holder];
    // The holder has filled its 64 MiB.
    const cg = new CgroupSource();
    await eventually(
      async () => (((await cg.read([holder])).get(holder.id)?.mem_usage ?? 0) > 64 * MiB ? true : undefined),
      15_000,
      "64 MiB held",
    );
  });
  afterAll(() => cleanupEngine());

  /** Two samples ~2 s apart from `source`, with `docker stats` run in between, and the comparison. */
  async function compare(source: StatsSource): Promise<void> {
    const stat0 = readProcStat();
    const first = await source.read(boxes);
    expect([...first.keys()].sort()).toEqual(boxes.map((b) => b.id).sort());
    const cli = dockerStatsCli(boxes.map((b) => b.name));
    await Bun.sleep(2_100);
    const second = await source.read(boxes);
    const theirs = await cli;
    const steal = stealShare(stat0, readProcStat());
    // CPU actually used, in cores (CPU time over wall time): what the quota caps, steal or not.
    const cores = (b: Box) => {
      const a = first.get(b.id)!;
      const z = second.get(b.id)!;
      return (z.cpu_ns - a.cpu_ns) / ((z.at - a.at) * 1e6);
    };
    const seen: Record<string, unknown> = { steal: `${(steal * 100).toFixed(1)}%` };
    for (const b of boxes) {
      const z = second.get(b.id)!;
      const t = theirs.get(b.name)!;
      seen[b.name.slice(PREFIX.length)] = {
        cpu: cpuPercent(first.get(b.id)!, z).toFixed(2),
        cli_cpu: t.cpu,
        cores: cores(b).toFixed(3),
        mem_mib: (z.mem_usage / MiB).toFixed(2),
        cli_mem_mib: (t.mem / MiB).toFixed(2),
      };
    }
    console.log(`${source.name} source vs docker stats:`, JSON.stringify(seen));
    for (const b of boxes) {
      const a = first.get(b.id)!;
      const z = second.get(b.id)!;
      const t = theirs.get(b.name)!;
      expect(z.at - a.at).toBeGreaterThanOrEqual(1_000);
      const cpu = cpuPercent(a, z);
      expect(Math.abs(cpu - t.cpu), `${source.name} CPU % of ${b.name}`).toBeLessThanOrEqual(CPU_TOLERANCE);
      const memTolerance = Math.max(MEM_TOLERANCE_BYTES, MEM_TOLERANCE_RATIO * t.mem);
      expect(Math.abs(z.mem_usage - t.mem), `${source.name} memory of ${b.name}`).toBeLessThanOrEqual(
        memTolerance,
      );
      expect(Math.abs(z.mem_limit - t.limit) / t.limit).toBeLessThan(0.005);
      expect(z.pids).toBeGreaterThanOrEqual(1);
      for (const k of ["net_rx", "net_tx", "blk_read", "blk_write"] as const) {
        expect(Number.isInteger(z[k]) && z[k] >= 0, `${k} = ${z[k]}`).toBe(true);
      }
    }
    // The figures themselves, not just their agreement: a busy CPU, half a CPU, 64 MiB. In cores
    // used rather than in CPU %: dockerd's denominator leaves steal out, so on a VM whose host
    // steals CPU time the percentages of both the CLI and the sources run high (half a CPU was seen
    // at 74 % here), while the time the container ran stays capped by its quota. The unlimited
    // burner gets a full core only on an idle host: on these 2 shared CPUs it was seen at 0.49 while
    // other test runs were busy, so it is only checked to be burning.
    expect(cores(burner)).toBeGreaterThan(0.25);
    expect(cores(half)).toBeGreaterThan(0.3);
    expect(cores(half)).toBeLessThan(0.6);
    expect(second.get(holder.id)!.mem_usage).toBeGreaterThan(64 * MiB);
    expect(second.get(holder.id)!.mem_usage).toBeLessThan(72 * MiB);
  }

  it("cgroup source: CPU % and memory as `docker stats` shows them", async () => {
    const source = new CgroupSource();
    expect(source.cgroupVersion).toBe("v1");
    expect(CgroupSource.available({ probe: burner })).toBe(true);
    await compare(source);
    source.close();
  });

  it("cgroup source: files read less often (limit, memory.stat, pids) still follow the container", async () => {
    const box = start("slow", ["sleep", "3600"], ["--network", "none", "--memory", "96m"]);
    let limit = 96;
    const source = new CgroupSource();
    try {
      // a copy: the source writes its samples over after the next read (src/stats/sample.ts)
      const first = { ...(await source.read([box])).get(box.id)! };
      expect(first.mem_limit).toBe(limit * MiB);
      // The limit is read again within 10 reads; a new process uses CPU, so pids are read at once.
      limit += 16;
      docker("update", "--memory", `${limit}m`, "--memory-swap", `${2 * limit}m`, box.id);
      docker("exec", "-d", box.id, "sleep", "600");
      let last = first;
      for (let i = 0; i < 11; i++) {
        await Bun.sleep(20);
        last = (await source.read([box])).get(box.id)!;
      }
      expect(last.mem_limit).toBe(limit * MiB);
      expect(last.pids).toBe(first.pids + 1);
      // What the files say now, read directly.
      const dir = `/sys/fs/cgroup/memory/docker/${box.id}`;
      const usage = Number(readFileSync(`${dir}/memory.usage_in_bytes`, "utf8"));
      const stat = readFileSync(`${dir}/memory.stat`, "utf8");
      const inactive = Number(/^total_inactive_file (\d+)$/m.exec(stat)![1]);
      expect(Math.abs(last.mem_usage - (usage - inactive))).toBeLessThanOrEqual(256 * 1024);
    } finally {
      source.close();
    }
    docker("rm", "-f", box.id);
  });

  it("docker source: CPU % and memory as `docker stats` shows them", async () => {
    const source = new DockerStatsSource(client);
    try {
      await eventually(async () => ((await source.read(boxes)).size === boxes.length ? true : undefined));
      await compare(source);
      expect(source.openStreams).toBe(boxes.length);
    } finally {
      source.close();
    }
    expect(source.openStreams).toBe(0);
  });

  it("both sources count host CPU time and memory alike (dockerd's system_cpu_usage: steal left out)", async () => {
    const cg = await new CgroupSource().read(boxes);
    const source = new DockerStatsSource(client);
    try {
      const dk = await eventually(async () => {
        const m = await source.read(boxes);
        return m.size === boxes.length ? m : undefined;
      });
      for (const b of boxes) {
        const a = cg.get(b.id)!;
        const z = dk.get(b.id)!;
        expect(z.online_cpus).toBe(a.online_cpus);
        expect(z.mem_limit).toBe(a.mem_limit);
        // Read within a few seconds of each other: the host's CPU time differs by at most that much
        // per CPU. Counting steal as well would be off by all the steal since boot.
        expect(Math.abs(z.system_ns - a.system_ns)).toBeLessThan(5e9 * a.online_cpus);
      }
    } finally {
      source.close();
    }
  });

  it("docker source: one stream=1 connection per container across reads, closed after the linger", async () => {
    const proxy = new EngineProxy(`/tmp/${PREFIX}stats.sock`);
    await proxy.start();
    const viaProxy = new DockerHttpEngine(parseEngineUrl(proxy.url));
    await viaProxy.connect();
    const source = new DockerStatsSource(viaProxy, { lingerMs: 500 });
    try {
      for (let i = 0; i < 6; i++) {
        await source.read(boxes);
        expect(source.openStreams).toBe(boxes.length);
        await Bun.sleep(400);
      }
      const got = await source.read(boxes);
      expect(got.size).toBe(boxes.length);
      expect(proxy.count(/\/stats\?stream=1/)).toBe(boxes.length);
      expect(proxy.count(/\/stats/)).toBe(boxes.length);
      for (const b of boxes) expect(proxy.count(new RegExp(`/containers/${b.id}/stats`))).toBe(1);

      // Asking for one only: the other two close after the linger, that one stays.
      const asked = [burner];
      const t0 = Date.now();
      await eventually(
        async () => {
          await source.read(asked);
          return source.openStreams === 1 ? true : undefined;
        },
        5_000,
        "two streams closed",
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      // Asking for nothing at all (read() no longer called): closed by the source's own timer.
      await eventually(() => (source.openStreams === 0 ? true : undefined), 5_000, "all streams closed");
      expect(proxy.count(/\/stats/)).toBe(boxes.length);
    } finally {
      source.close();
      await proxy.stop();
    }
  });

  it("docker source: never more streams than maxStreams, the containers past it left out", async () => {
    const source = new DockerStatsSource(client, { maxStreams: 2 });
    try {
      for (let i = 0; i < 3; i++) {
        await source.read(boxes);
        expect(source.openStreams).toBe(2);
      }
      const got = await eventually(async () => {
        const m = await source.read(boxes);
        return m.size === 2 ? m : undefined;
      });
      expect([...got.keys()]).toEqual([burner.id, half.id]);
    } finally {
      source.close();
    }
  });

  it("docker source: a stream ends when its container stops, and the container is left out", async () => {
    const quiet = start("stop", ["sleep", "3600"], ["--network", "none"]);
    const source = new DockerStatsSource(client, { retryMs: 60_000 });
    try {
      const targets = [quiet, burner];
      await eventually(async () => ((await source.read(targets)).size === 2 ? true : undefined));
      expect(source.openStreams).toBe(2);
      docker("stop", "-t", "0", quiet.id);
      await eventually(
        async () => {
          const got = await source.read(targets);
          return source.openStreams === 1 && !got.has(quiet.id) && got.has(burner.id) ? true : undefined;
        },
        10_000,
        "stream of the stopped container closed",
      );
    } finally {
      source.close();
    }
  });

  it("cgroup source: a sleeping container rests on its CPU time; pings the kernel answers are seen within a refresh, then every read", async () => {
    const resting = start("rest", ["sleep", "3600"], []);
    const ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", resting.id).trim();
    expect(ip, "the container needs the default bridge").not.toBe("");
    const source = new CgroupSource();
    const read = async () => {
      await Bun.sleep(100);
      return { ...(await source.read([resting])).get(resting.id)! };
    };
    try {
      // Nothing runs in it once started: two reads alike, and only its CPU time is read from then on.
      let before = await read();
      for (let i = 0, last = before; i < 30; i++, last = before) {
        before = await read();
        if (
          JSON.stringify({ ...before, at: 0, system_ns: 0 }) ===
          JSON.stringify({ ...last, at: 0, system_ns: 0 })
        )
          break;
      }
      const lastFull = before.at;
      // One read more before the traffic: at rest, or this container's refresh. Either way the read
      // that finds the traffic comes after one that held its figures, never right after a full one.
      const quiet = await read();
      // Echo requests from a neighbour: the kernel answers them, no process of the resting container runs.
      start("pinger", ["ping", "-c", "200", "-i", "0.1", ip], []);
      const reads = [quiet];
      while (reads.length < 30 && reads.at(-1)!.net_rx === before.net_rx) reads.push(await read());
      const seen = reads.at(-1)!;
      // Seen at its refresh (every 10 reads), over the whole time since its last full read.
      expect(seen.net_rx).toBeGreaterThan(before.net_rx);
      expect(reads.length).toBeLessThanOrEqual(12);
      const from = seen.counters_since!;
      expect([lastFull, quiet.at]).toContain(from);
      // ~10 echoes of 98 bytes a second, not what built up put on one read.
      const rate = (seen.net_rx - before.net_rx) / ((seen.at - from) / 1000);
      expect(rate).toBeGreaterThan(300);
      expect(rate).toBeLessThan(3_000);
      // Then read in full while they keep moving.
      const next = await read();
      expect(next.counters_since).toBeUndefined();
      expect(next.net_rx).toBeGreaterThan(seen.net_rx);
    } finally {
      source.close();
    }
  });

  it("cgroup source: a container that stops is left out, the others still read, its files closed", async () => {
    const quiet = start("gone", ["sleep", "3600"], ["--network", "none"]);
    const source = new CgroupSource();
    const before = openFiles(quiet);
    const burnerBefore = openFiles(burner);
    expect((await source.read([quiet, burner])).size).toBe(2);
    // The source keeps each container's files open between reads.
    expect(openFiles(quiet)).toBeGreaterThan(before);
    docker("rm", "-f", quiet.id);
    const got = await source.read([quiet, burner]);
    expect([...got.keys()]).toEqual([burner.id]);
    expect(openFiles(quiet)).toBe(before);
    source.close();
    expect(openFiles(burner)).toBe(burnerBefore);
  });
});

/** How many of this process's open descriptors are the container's files: its cgroups', its process's. */
function openFiles(t: StatsTarget): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const path = readlinkSync(`/proc/self/fd/${fd}`);
      if (path.includes(t.id) || path.startsWith(`/proc/${t.pid}/`)) n++;
    } catch {
      // closed between the listing and the look
    }
  }
  return n;
}
