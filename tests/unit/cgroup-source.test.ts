import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CgroupSource } from "../../src/stats/cgroup-source.ts";
import { cpuPercent } from "../../src/stats/sample.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

// /proc/stat: the first seven "cpu" fields (user nice system idle iowait irq softirq) are what dockerd
// counts as system_cpu_usage; steal (70 here) is left out, as dockerd leaves it out.
const PROC_STAT = `cpu  100 20 30 1000 40 5 6 70 0 0
cpu0 25 5 7 250 10 1 1 17 0 0
cpu1 25 5 8 250 10 1 2 18 0 0
cpu2 25 5 7 250 10 1 1 17 0 0
cpu3 25 5 8 250 10 2 2 18 0 0
intr 123456 1 2 3
ctxt 987654
btime 1700000000
processes 4242
`;
const SYSTEM_NS = (100 + 20 + 30 + 1000 + 40 + 5 + 6) * 10_000_000;
const MEMINFO = "MemTotal:        2048000 kB\nMemFree:          100000 kB\nMemAvailable:    1500000 kB\n";
const MEM_TOTAL = 2048000 * 1024;
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9999999     100    0    0    0     0          0         0  9999999     100    0    0    0     0       0          0
  eth0:    1500      10    0    0    0     0          0         0      700       7    0    0    0     0       0          0
  eth1:500 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0
`;
const V1_UNLIMITED = "9223372036854771712\n";

let dir: string;
let cg: string;
let proc: string;

function put(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function procFiles(pids: Record<number, string>): void {
  put(join(proc, "stat"), PROC_STAT);
  put(join(proc, "meminfo"), MEMINFO);
  for (const [pid, cgroupFile] of Object.entries(pids)) {
    put(join(proc, pid, "net/dev"), NET_DEV);
    put(join(proc, pid, "cgroup"), cgroupFile);
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gp-cgroup-"));
  cg = join(dir, "sys/fs/cgroup");
  proc = join(dir, "proc");
  mkdirSync(cg, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("CgroupSource on cgroup v1 (cgroupfs driver)", () => {
  function v1Container(id: string, opts: { cpuMount?: string; parent?: string; limit?: string } = {}) {
    const parent = opts.parent ?? "docker";
    put(join(cg, opts.cpuMount ?? "cpuacct", parent, id, "cpuacct.usage"), "5000000000\n");
    const mem = join(cg, "memory", parent, id);
    put(join(mem, "memory.usage_in_bytes"), "104857600\n");
    put(
      join(mem, "memory.stat"),
      "cache 8388608\nrss 96468992\ninactive_file 1\nactive_file 2\n" +
        "total_cache 8388608\ntotal_rss 96468992\ntotal_inactive_file 4194304\ntotal_active_file 4194304\n",
    );
    put(join(mem, "memory.limit_in_bytes"), opts.limit ?? V1_UNLIMITED);
    put(join(cg, "pids", parent, id, "pids.current"), "3\n");
    return join(cg, "blkio", parent, id);
  }

  /** `count` v1 containers with made-up ids, their processes at pids 1000, 1001, …; their ids. */
  function manyContainers(count: number): string[] {
    const ids = Array.from({ length: count }, (_, i) => i.toString(16).padStart(64, "0"));
    const pids: Record<number, string> = {};
    ids.forEach((id, i) => {
      v1Container(id);
      pids[1000 + i] = "";
    });
    procFiles(pids);
    return ids;
  }

  it("reads CPU, memory less total_inactive_file, the host's memory for no limit, pids, blkio and net", async () => {
    const blk = v1Container(A);
    put(
      join(blk, "blkio.throttle.io_service_bytes"),
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n" +
        "8:16 Read 1000\n8:16 Write 24\n8:16 Total 1024\nTotal 13312\n",
    );
    procFiles({ 101: `4:memory:/docker/${A}\n` });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    expect(source.name).toBe("cgroup");
    expect(source.cgroupVersion).toBe("v1");
    const got = await source.read([{ id: A, pid: 101 }]);
    expect(got.get(A)).toEqual({
      at: expect.any(Number),
      cpu_ns: 5_000_000_000,
      system_ns: SYSTEM_NS,
      online_cpus: 4,
      mem_usage: 104857600 - 4194304,
      mem_limit: MEM_TOTAL,
      pids: 3,
      blk_read: 4096 + 1000,
      blk_write: 8192 + 24,
      net_rx: 1500 + 500,
      net_tx: 700 + 300,
    });
  });

  it("keeps a limit below the host's memory, takes a cpu,cpuacct mount, and falls back to blkio.io_service_bytes", async () => {
    const blk = v1Container(B, { cpuMount: "cpu,cpuacct", limit: "268435456\n" });
    put(join(blk, "blkio.throttle.io_service_bytes"), "Total 0\n");
    put(join(blk, "blkio.io_service_bytes"), "8:0 Read 512\n8:0 Write 256\n8:0 Total 768\nTotal 768\n");
    procFiles({ 102: "" });
    const s = (await new CgroupSource({ cgroupRoot: cg, procRoot: proc }).read([{ id: B, pid: 102 }])).get(B);
    expect(s).toMatchObject({ mem_limit: 268435456, blk_read: 512, blk_write: 256, cpu_ns: 5_000_000_000 });
  });

  it("treats a limit above the host's memory as none", async () => {
    v1Container(A, { limit: `${MEM_TOTAL * 2}\n` });
    procFiles({ 101: "" });
    const s = (await new CgroupSource({ cgroupRoot: cg, procRoot: proc }).read([{ id: A, pid: 101 }])).get(A);
    expect(s?.mem_limit).toBe(MEM_TOTAL);
    expect(s).toMatchObject({ blk_read: 0, blk_write: 0 }); // no blkio files at all
  });

  it("finds a container under another parent (--cgroup-parent) through /proc/<pid>/cgroup", async () => {
    v1Container(C, { parent: "custom/app" });
    procFiles({
      103: `4:memory:/custom/app/${C}\n2:cpuacct:/custom/app/${C}\n8:pids:/custom/app/${C}\n9:name=systemd:/\n`,
    });
    const s = (await new CgroupSource({ cgroupRoot: cg, procRoot: proc }).read([{ id: C, pid: 103 }])).get(C);
    expect(s).toMatchObject({ cpu_ns: 5_000_000_000, mem_usage: 104857600 - 4194304, pids: 3 });
  });

  // Fixture files cannot vanish under an open descriptor the way a removed cgroup's do (ENODEV): the
  // integration tests cover a container removed between reads.
  it("leaves out a container it cannot find, and still reads the others", async () => {
    v1Container(A);
    v1Container(B);
    procFiles({ 101: "", 102: "" });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    const targets = [
      { id: A, pid: 101 },
      { id: B, pid: 102 },
      { id: C, pid: 103 }, // no cgroup, no /proc/103
      { id: "d".repeat(64), pid: 0 }, // not running
    ];
    expect([...(await source.read(targets)).keys()]).toEqual([A, B]);
    // Files never opened are looked for on every read: a cgroup that vanished before its first read.
    rmSync(join(cg, "memory/docker", A), { recursive: true });
    expect([...(await new CgroupSource({ cgroupRoot: cg, procRoot: proc }).read(targets)).keys()]).toEqual([
      B,
    ]);
  });

  it("reads many containers in slices, letting the event loop run between them", async () => {
    const ids = manyContainers(60);
    const targets = ids.map((id, i) => ({ id, pid: 1000 + i }));
    // A slice of 0 ms reads one container: 59 turns of the loop between the 60.
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 0 });
    let turns = 0;
    let reading = true;
    const other = () => {
      turns++;
      if (reading) setImmediate(other);
    };
    setImmediate(other);
    const got = await source.read(targets);
    reading = false;
    expect(got.size).toBe(60);
    expect(turns).toBeGreaterThanOrEqual(59);
    expect(got.get(ids[59]!)!.mem_usage).toBe(104857600 - 4194304);
    // A slice long enough for all of them: one go, no turn in between.
    turns = 0;
    reading = true;
    setImmediate(other);
    const once = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 60_000 });
    expect((await once.read(targets)).size).toBe(60);
    reading = false;
    expect(turns).toBe(0);
  });

  it("sleeps gapMs between slices, so a long read gives the CPU up between them", async () => {
    const ids = manyContainers(5);
    const targets = ids.map((id, i) => ({ id, pid: 1000 + i }));
    // Slices of one container: four sleeps of 40 ms between the five.
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 0, gapMs: 40 });
    const started = performance.now();
    expect((await source.read(targets)).size).toBe(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 40 - 5);
    // One slice for all of them: no sleep at all.
    const once = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 60_000, gapMs: 10_000 });
    expect((await once.read(targets)).size).toBe(5);
  });

  it("hands what it read so far to onPart every partMs, each container once, the rest in what it returns", async () => {
    const ids = manyContainers(20);
    // 19 is not running: never read, in no part
    const targets = ids.map((id, i) => ({ id, pid: i === 19 ? 0 : 1000 + i }));
    // Slices of one container, a part at every slice: all but the last slice go out as parts.
    const parts: string[][] = [];
    const every = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 0, partMs: 0 });
    const got = await every.read(targets, (part) => parts.push([...part.keys()]));
    expect(parts).toEqual(ids.slice(0, 19).map((id) => [id]));
    expect([...got.keys()]).toEqual(ids.slice(0, 19));
    // Parts longer than the read: none handed on; everything in what it returns.
    const none: string[][] = [];
    const whole = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 0, partMs: 60_000 });
    expect((await whole.read(targets, (part) => none.push([...part.keys()]))).size).toBe(19);
    expect(none).toEqual([]);
  });

  it("stops a sliced read when closed during it, and reads nothing after", async () => {
    const ids = manyContainers(10);
    const targets = ids.map((id, i) => ({ id, pid: 1000 + i }));
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc, sliceMs: 0 });
    const reading = source.read(targets);
    setImmediate(() => source.close());
    expect((await reading).size).toBeLessThan(10);
    expect((await source.read(targets)).size).toBe(0);
  });

  it("gives cpuPercent as the docker CLI computes it between two reads", async () => {
    v1Container(A);
    procFiles({ 101: "" });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    const first = (await source.read([{ id: A, pid: 101 }])).get(A)!;
    // One second later on 4 CPUs: 400 ticks of host time, the container used 0.5 s of CPU.
    put(join(cg, "cpuacct/docker", A, "cpuacct.usage"), "5500000000\n");
    put(join(proc, "stat"), PROC_STAT.replace("cpu  100 20 30 1000", "cpu  300 20 30 1200"));
    const second = (await source.read([{ id: A, pid: 101 }])).get(A)!;
    expect(second.system_ns - first.system_ns).toBe(4_000_000_000);
    expect(cpuPercent(first, second)).toBeCloseTo(50, 6);
    // The source writes a container's samples over two reads later (no object per read): the
    // sample before stays whole until then, so rates between the two newest hold again.
    put(join(cg, "cpuacct/docker", A, "cpuacct.usage"), "7500000000\n");
    put(join(proc, "stat"), PROC_STAT.replace("cpu  100 20 30 1000", "cpu  500 20 30 1400"));
    const third = (await source.read([{ id: A, pid: 101 }])).get(A)!;
    expect(third.cpu_ns).toBe(7_500_000_000);
    expect(second.cpu_ns).toBe(5_500_000_000);
    expect(cpuPercent(second, third)).toBeCloseTo(200, 6);
  });

  it("reads only the CPU time of a container at rest; what moved meanwhile goes on the last tick if its CPU moved, else on the whole rest", async () => {
    v1Container(A);
    procFiles({ 101: "" });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    const target = [{ id: A, pid: 101 }];
    const next = async () => {
      await Bun.sleep(2);
      return { ...(await source.read(target)).get(A)! };
    };
    const usage = join(cg, "memory/docker", A, "memory.usage_in_bytes");
    const cpu = join(cg, "cpuacct/docker", A, "cpuacct.usage");
    const netDev = (rx: number) =>
      put(join(proc, "101/net/dev"), NET_DEV.replace("eth0:    1500", `eth0: ${rx}`));
    await next();
    const still = await next(); // nothing moved since the first read: at rest from here on
    netDev(2500);
    put(usage, "209715200\n");
    const resting = await next();
    expect(resting).toMatchObject({ net_rx: 2000, mem_usage: 104857600 - 4194304 });
    expect(resting.at).toBeGreaterThan(still.at);
    // Its CPU moved: everything is read again, at once, and what moved is put on the last tick.
    put(cpu, "5000000001\n");
    const woke = await next();
    expect(woke).toMatchObject({ net_rx: 3000, mem_usage: 209715200 - 4194304 });
    expect(woke.counters_since).toBeUndefined();
    // Traffic while its CPU stays still (what the kernel answers alone): seen at its refresh, within
    // REFRESH_TICKS reads, over the whole time since its last full read; then followed every read.
    const settled = await next(); // read in full (its CPU had moved), nothing moved: at rest again
    netDev(4000);
    let held = 0;
    let got = await next();
    while (got.net_rx === 3000 && held < 12) {
      got = await next();
      held++;
    }
    expect(got).toMatchObject({ net_rx: 4500, counters_since: settled.at });
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(10);
    netDev(5000);
    const followed = await next();
    expect(followed).toMatchObject({ net_rx: 5500 });
    expect(followed.counters_since).toBeUndefined();
    // An agent's source reads everything every time.
    const every = new CgroupSource({ cgroupRoot: cg, procRoot: proc, everyTick: true });
    await every.read(target);
    await every.read(target);
    netDev(6000);
    expect((await every.read(target)).get(A)).toMatchObject({ net_rx: 6500 });
    every.close();
    source.close();
  });

  it("spreads its containers' refreshes over the reads, never all on one", async () => {
    const ids = manyContainers(20);
    const targets = ids.map((id, i) => ({ id, pid: 1000 + i }));
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    const read = async () => {
      await Bun.sleep(2);
      return source.read(targets);
    };
    await read();
    await read(); // nothing moved: all at rest
    // Every container's network moves without its CPU: each sees it at its own refresh.
    for (let i = 0; i < ids.length; i++)
      put(join(proc, String(1000 + i), "net/dev"), NET_DEV.replace("1500", "2500"));
    const seenNow: number[] = [];
    const seen = new Set<string>();
    for (let r = 0; r < 10; r++) {
      const got = await read();
      let n = 0;
      for (const [id, s] of got) {
        if (s.net_rx !== 3000 || seen.has(id)) continue;
        seen.add(id);
        n++;
      }
      seenNow.push(n);
    }
    expect(seenNow).toEqual(Array(10).fill(2));
    source.close();
  });

  it("is available only when a container's cgroup is found and /proc/<pid> is that container", () => {
    v1Container(A);
    procFiles({ 101: `4:memory:/docker/${A}\n`, 102: "4:memory:/\n" });
    const opts = { cgroupRoot: cg, procRoot: proc };
    expect(CgroupSource.available({ ...opts, probe: { id: A, pid: 101 } })).toBe(true);
    expect(CgroupSource.available({ ...opts, probe: { id: A, pid: 102 } })).toBe(false); // another process
    expect(CgroupSource.available({ ...opts, probe: { id: B, pid: 101 } })).toBe(false);
    expect(CgroupSource.available({ ...opts, containerId: A })).toBe(true); // no pid: cgroup files only
    expect(CgroupSource.available({ ...opts, containerId: B })).toBe(false);
    expect(CgroupSource.available(opts)).toBe(true); // a docker parent exists
    expect(CgroupSource.available({ cgroupRoot: join(dir, "nowhere"), procRoot: proc })).toBe(false);
  });
});

describe("CgroupSource on cgroup v2", () => {
  function v2Container(rel: string, memoryMax: string) {
    put(join(cg, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
    const d = join(cg, rel);
    put(join(d, "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n");
    put(join(d, "memory.current"), "73400320\n");
    put(
      join(d, "memory.stat"),
      "anon 62914560\nfile 10485760\nkernel_stack 16384\nshmem 0\nactive_anon 0\ninactive_anon 62914560\n" +
        "active_file 4194304\ninactive_file 6291456\nworkingset_refault_file 7\n",
    );
    put(join(d, "memory.max"), memoryMax);
    put(join(d, "pids.current"), "7\n");
    put(
      join(d, "io.stat"),
      "8:0 rbytes=1048576 wbytes=2097152 rios=10 wios=20 dbytes=0 dios=0\n" +
        "253:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    );
  }
  const expected = {
    at: expect.any(Number),
    cpu_ns: 2_500_000_000,
    system_ns: SYSTEM_NS,
    online_cpus: 4,
    mem_usage: 73400320 - 6291456,
    pids: 7,
    blk_read: 1048576 + 4096,
    blk_write: 2097152,
    net_rx: 2000,
    net_tx: 1000,
  };

  it("reads the cgroupfs-like layout (/sys/fs/cgroup/docker/<id>), memory.max 'max' giving MemTotal", async () => {
    v2Container(`docker/${A}`, "max\n");
    procFiles({ 201: `0::/docker/${A}\n` });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    expect(source.cgroupVersion).toBe("v2");
    const s = (await source.read([{ id: A, pid: 201 }])).get(A);
    expect(s).toEqual({ ...expected, mem_limit: MEM_TOTAL });
    expect(CgroupSource.available({ cgroupRoot: cg, procRoot: proc, probe: { id: A, pid: 201 } })).toBe(true);
  });

  it("reads the systemd layout (system.slice/docker-<id>.scope) with a memory limit", async () => {
    v2Container(`system.slice/docker-${B}.scope`, "536870912\n");
    procFiles({ 202: `0::/system.slice/docker-${B}.scope\n` });
    const source = new CgroupSource({ cgroupRoot: cg, procRoot: proc });
    const got = await source.read([
      { id: B, pid: 202 },
      { id: A, pid: 201 }, // not there
    ]);
    expect([...got.keys()]).toEqual([B]);
    expect(got.get(B)).toEqual({ ...expected, mem_limit: 536870912 });
    expect(CgroupSource.available({ cgroupRoot: cg, procRoot: proc })).toBe(true);
    expect(CgroupSource.available({ cgroupRoot: cg, procRoot: proc, probe: { id: B, pid: 202 } })).toBe(true);
  });

  it("does not mistake the namespace root for a container (cgroupns: /proc/<pid>/cgroup says 0::/)", async () => {
    v2Container("other", "max\n");
    put(join(cg, "cpu.stat"), "usage_usec 999999999\n");
    procFiles({ 203: "0::/\n" });
    const got = await new CgroupSource({ cgroupRoot: cg, procRoot: proc }).read([{ id: C, pid: 203 }]);
    expect(got.size).toBe(0);
  });
});
