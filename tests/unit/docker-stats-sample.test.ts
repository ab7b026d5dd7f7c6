import { describe, expect, it } from "vitest";
import { type DockerStatsJson, fromDockerStats } from "../../src/stats/docker-source.ts";
import { cpuPercent } from "../../src/stats/sample.ts";

// Recorded from docker 20.10 on cgroup v1 (GET /containers/{id}/stats?stream=false), busybox on the
// default bridge; the blkio entries were added in the engine's shape (this host's disk accounts none).
const V1 = {
  read: "2026-11-22T03:51:15.415227498Z",
  preread: "2026-11-22T03:51:14.410552124Z",
  pids_stats: { current: 1 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 8388608 },
      { major: 8, minor: 0, op: "Sync", value: 8388608 },
      { major: 8, minor: 0, op: "Async", value: 4096 },
      { major: 8, minor: 0, op: "Discard", value: 0 },
      { major: 8, minor: 0, op: "Total", value: 8392704 },
      { major: 8, minor: 16, op: "Read", value: 100 },
    ],
    io_serviced_recursive: [],
  },
  cpu_stats: {
    cpu_usage: {
      total_usage: 111927191,
      percpu_usage: [60333582, 51593609],
      usage_in_kernelmode: 70000000,
      usage_in_usermode: 30000000,
    },
    system_cpu_usage: 7528130000000,
    online_cpus: 2,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  },
  precpu_stats: {
    cpu_usage: { total_usage: 111927191, percpu_usage: [60333582, 51593609] },
    system_cpu_usage: 7526130000000,
    online_cpus: 2,
  },
  memory_stats: {
    usage: 8798208,
    max_usage: 9330688,
    stats: {
      active_anon: 4096,
      active_file: 4993024,
      cache: 8400896,
      hierarchical_memory_limit: 9223372036854772000,
      inactive_anon: 45056,
      inactive_file: 3407872,
      rss: 49152,
      total_active_anon: 4096,
      total_active_file: 4993024,
      total_cache: 8400896,
      total_inactive_anon: 45056,
      total_inactive_file: 3407872,
      total_rss: 49152,
    },
    limit: 25276510208,
  },
  networks: {
    eth0: { rx_bytes: 736, rx_packets: 8, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0 },
  },
  name: "/gpstat-probe-x4",
  id: "f3dc057f84046c74188e726fc29af5e64debfb93cfedc8de4738317ec5870878",
};

// The shape a cgroup v2 engine sends (docker 20.10+ on a unified hierarchy): no percpu_usage, no
// total_* memory keys, lowercase blkio ops, a memory limit set.
const V2 = {
  read: "2026-11-22T04:00:01.000000001Z",
  preread: "2026-11-22T04:00:00.000000001Z",
  pids_stats: { current: 4, limit: 18446744073709552000 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 259, minor: 0, op: "read", value: 2097152 },
      { major: 259, minor: 0, op: "write", value: 65536 },
      { major: 253, minor: 1, op: "read", value: 1024 },
    ],
    io_serviced_recursive: null,
  },
  cpu_stats: {
    cpu_usage: { total_usage: 3000000000, usage_in_kernelmode: 1000000000, usage_in_usermode: 2000000000 },
    system_cpu_usage: 90000000000000,
    online_cpus: 8,
  },
  precpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} },
  memory_stats: {
    usage: 734003200,
    stats: {
      anon: 104857600,
      file: 629145600,
      active_file: 100000000,
      inactive_file: 524288000,
      shmem: 0,
      workingset_refault_file: 3,
    },
    limit: 1073741824,
  },
  networks: {
    eth0: { rx_bytes: 1000, tx_bytes: 2000 },
    eth1: { rx_bytes: 30, tx_bytes: 40 },
  },
};

describe("fromDockerStats", () => {
  it("converts a cgroup v1 sample: usage less total_inactive_file, Read/Write over devices, networks summed", () => {
    expect(fromDockerStats(V1)).toEqual({
      at: Date.parse("2026-11-22T03:51:15.415Z"),
      cpu_ns: 111927191,
      system_ns: 7528130000000,
      online_cpus: 2,
      mem_usage: 8798208 - 3407872,
      mem_limit: 25276510208,
      pids: 1,
      blk_read: 4096 + 100,
      blk_write: 8388608,
      net_rx: 736,
      net_tx: 0,
    });
  });

  it("converts a cgroup v2 sample: usage less inactive_file (not cache), lowercase ops", () => {
    expect(fromDockerStats(V2)).toEqual({
      at: Date.parse("2026-11-22T04:00:01.000Z"),
      cpu_ns: 3000000000,
      system_ns: 90000000000000,
      online_cpus: 8,
      mem_usage: 734003200 - 524288000, // 200 MiB, where usage − cache would say 100 MiB and usage 700
      mem_limit: 1073741824,
      pids: 4,
      blk_read: 2097152 + 1024,
      blk_write: 65536,
      net_rx: 1030,
      net_tx: 2040,
    });
  });

  it("counts CPUs from percpu_usage when online_cpus is missing, and takes no network as zero", () => {
    const json = structuredClone(V1) as DockerStatsJson;
    delete json.cpu_stats!.online_cpus;
    delete json.networks;
    expect(fromDockerStats(json)).toMatchObject({ online_cpus: 2, net_rx: 0, net_tx: 0 });
  });

  it("keeps usage when the inactive figure makes no sense (as the docker CLI does)", () => {
    const json = structuredClone(V1) as DockerStatsJson;
    json.memory_stats!.stats!.total_inactive_file = json.memory_stats!.usage! + 1;
    expect(fromDockerStats(json)?.mem_usage).toBe(8798208);
  });

  it("gives nothing for the empty samples the engine streams for a stopped container", () => {
    const stopped = {
      read: "0001-01-01T00:00:00Z",
      preread: "0001-01-01T00:00:00Z",
      pids_stats: {},
      blkio_stats: { io_service_bytes_recursive: null },
      cpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} },
      precpu_stats: { cpu_usage: { total_usage: 0 } },
      memory_stats: {},
      name: "/x",
      id: "x",
    };
    expect(fromDockerStats(stopped)).toBeUndefined();
  });
});

describe("cpuPercent on Docker samples", () => {
  it("is the docker CLI's figure: container CPU delta over host CPU delta, times the CPUs", () => {
    const first = fromDockerStats(V1)!;
    // Two seconds later on two CPUs (4 s of host CPU time) the container used 1 s: 25 % × 2 = 50 %.
    const next = structuredClone(V1);
    next.read = "2026-11-22T03:51:17.415227498Z";
    next.cpu_stats.cpu_usage.total_usage += 1_000_000_000;
    next.cpu_stats.system_cpu_usage += 4_000_000_000;
    const second = fromDockerStats(next)!;
    expect(cpuPercent(first, second)).toBeCloseTo(50, 9);
    expect(second.at - first.at).toBe(2000);
    // The recorded sample with its own precpu: an idle container.
    const pre = fromDockerStats({ ...V1, cpu_stats: V1.precpu_stats })!;
    expect(cpuPercent(pre, first)).toBe(0);
  });

  it("on the v2 shape with 8 CPUs: one full CPU is 100 %", () => {
    const first = fromDockerStats(V2)!;
    const next = structuredClone(V2);
    next.cpu_stats.cpu_usage.total_usage += 1_000_000_000;
    next.cpu_stats.system_cpu_usage += 8_000_000_000;
    expect(cpuPercent(first, fromDockerStats(next)!)).toBeCloseTo(100, 9);
  });
});
