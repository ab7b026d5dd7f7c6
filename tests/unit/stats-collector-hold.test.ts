import { describe, expect, it } from "vitest";
import type { Environment } from "../../src/envs/environments.ts";
import { StatsCollector } from "../../src/stats/collector.ts";
import type { TickFigures } from "../../src/stats/frame-encoder.ts";
import type { RawSample, StatsSource } from "../../src/stats/sample.ts";

const sample = (at: number, cpuSeconds: number): RawSample => ({
  at,
  cpu_ns: cpuSeconds * 1e9,
  system_ns: at * 2e6, // two CPUs' worth of host time per ms
  online_cpus: 2,
  mem_usage: 10_000_000,
  mem_limit: 1e9,
  pids: 1,
  blk_read: 0,
  blk_write: 0,
  net_rx: at * 10,
  net_tx: 0,
});

describe("the collector, when its source has nothing newer", () => {
  it("shows a container's previous figures again rather than a tick of zero rates", async () => {
    // what an agent's datagrams give when one tick's was lost: the same newest sample twice
    const script = [sample(1_000, 0), sample(2_000, 0.5), sample(2_000, 0.5), sample(3_000, 1.5)];
    const source: StatsSource = {
      name: "cgroup",
      read: async () => new Map([["a", script.shift()!]]),
      close: () => {},
    };
    const env = {
      id: "e",
      containers: { running: () => [{ id: "a", name: "a", pid: 1 }] },
    } as unknown as Environment;
    const ticks: TickFigures[][] = [];
    const collector = new StatsCollector(
      env,
      () => source,
      1000,
      (_d, figures) => ticks.push(figures),
    );
    for (let i = 0; i < 4; i++) await collector.tick();
    const cpu = ticks.map((t) => t[0]?.cpu_percent);
    const rx = ticks.map((t) => t[0]?.net_rx_rate);
    // 0.5 s of CPU in 1 s, then held, then 1 s of CPU in the next second (rates against the held sample)
    expect(cpu).toEqual([0, 50, 50, 100]);
    expect(rx).toEqual([0, 10_000, 10_000, 10_000]);
    collector.close();
  });
});
