import { describe, expect, it } from "vitest";
import type { Environment } from "../../src/envs/environments.ts";
import type { DeltaFrame } from "../../src/protocol/stats-frames.ts";
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

/** What a collector's ticks give for one running container "a", whose source reads `script` in turn. */
async function ticksOf(script: RawSample[]): Promise<TickFigures[][]> {
  const source: StatsSource = {
    name: "cgroup",
    read: async () => new Map([["a", script.shift()!]]),
    close: () => {},
  };
  const env = {
    id: "e",
    containers: { running: () => [{ id: "a", name: "a", pid: 1 }], version: 1 },
  } as unknown as Environment;
  const ticks: TickFigures[][] = [];
  const collector = new StatsCollector(env, () => source, 1000, {
    frame: () => {},
    tick: (figures) => ticks.push(figures),
  });
  for (let n = script.length; n > 0; n--) await collector.tick();
  collector.close();
  return ticks;
}

describe("the collector, when its source has nothing newer", () => {
  it("shows a container's previous figures again rather than a tick of zero rates", async () => {
    // what an agent's datagrams give when one tick's was lost: the same newest sample twice
    const script = [sample(1_000, 0), sample(2_000, 0.5), sample(2_000, 0.5), sample(3_000, 1.5)];
    const ticks = await ticksOf(script);
    const cpu = ticks.map((t) => t[0]?.cpu_percent);
    const rx = ticks.map((t) => t[0]?.net_rx_rate);
    // 0.5 s of CPU in 1 s, then held, then 1 s of CPU in the next second (rates against the held sample)
    expect(cpu).toEqual([0, 50, 50, 100]);
    expect(rx).toEqual([0, 10_000, 10_000, 10_000]);
  });
});

describe("the collector, when its source holds a container's counters", () => {
  it("rates what moved over the time the source says it built up in, else over the last tick", async () => {
    const at = (t: number, rx: number, since?: number): RawSample => ({
      ...sample(t, 0),
      net_rx: rx,
      counters_since: since,
    });
    // at rest from 2 s; at 5 s 3,000 bytes found that came without its CPU (since 2 s); at 6 s
    // 2,000 more; at rest again; at 9 s its CPU moved with 1,500 bytes: the last tick's
    const script = [at(1_000, 0), at(2_000, 0), at(3_000, 0), at(4_000, 0), at(5_000, 3_000, 2_000)];
    script.push(at(6_000, 5_000), at(7_000, 5_000), at(8_000, 5_000), at(9_000, 6_500));
    const ticks = await ticksOf(script);
    expect(ticks.map((t) => t[0]?.net_rx_rate)).toEqual([0, 0, 0, 0, 1_000, 2_000, 0, 0, 1_500]);
  });
});

describe("the collector, when its source reads in parts", () => {
  it("sends each part as a frame stamped with its own oldest sample, and the tick once, whole", async () => {
    const ids = ["a", "b", "c", "d", "e"];
    let round = 0;
    const source: StatsSource = {
      name: "cgroup",
      // a, b read at +0 and +1 ms, handed on; c, d at +20 ms, handed on; e at +40 ms, the rest
      read: async (targets, onPart) => {
        const base = 1_000 * ++round;
        const all = new Map(
          targets.map((t, i) => [t.id, sample(base + [0, 1, 20, 20, 40][i]!, round * 0.1)]),
        );
        const pick = (...wanted: string[]) => new Map(wanted.map((id) => [id, all.get(id)!]));
        onPart?.(pick("a", "b"));
        onPart?.(pick("c", "d"));
        return all;
      },
      close: () => {},
    };
    const env = {
      id: "e",
      containers: { running: () => ids.map((id, i) => ({ id, name: id, pid: i + 1 })), version: 1 },
    } as unknown as Environment;
    const frames: [DeltaFrame, string[]][] = [];
    const ticks: string[][] = [];
    const collector = new StatsCollector(env, () => source, 1000, {
      frame: (delta, figures) => frames.push([delta, figures.map((f) => f.id)]),
      tick: (figures) => ticks.push(figures.map((f) => f.id)),
    });
    await collector.tick();
    await collector.tick();
    expect(frames.map(([d, got]) => [d.t, d.m ?? 0, got])).toEqual([
      [1_000, 1, ["a", "b"]],
      [1_020, 1, ["c", "d"]],
      [1_040, 0, ["e"]],
      [2_000, 1, ["a", "b"]],
      [2_020, 1, ["c", "d"]],
      [2_040, 0, ["e"]],
    ]);
    expect(ticks).toEqual([ids, ids]);
    // Rates are per container over its own interval, whichever part it came in.
    expect(collector.now().find((s) => s.id === "e")?.cpu_percent).toBe(
      collector.now().find((s) => s.id === "a")?.cpu_percent,
    );
    collector.close();
  });
});

describe("the collector's names", () => {
  it("follows a rename once the engine's list has changed, and drops a container that stopped", async () => {
    let at = 0;
    const source: StatsSource = {
      name: "cgroup",
      read: async (targets) => {
        at += 1_000;
        return new Map(targets.map((t) => [t.id, sample(at, at / 1_000)]));
      },
      close: () => {},
    };
    // The names are made again only when the list's version moves, as ContainerMirror's does.
    const list = {
      version: 1,
      views: [
        { id: "a", name: "web", pid: 1 },
        { id: "b", name: "db", pid: 2 },
      ],
    };
    const env = {
      id: "e",
      containers: {
        running: () => list.views,
        get version() {
          return list.version;
        },
      },
    } as unknown as Environment;
    const ticks: string[][] = [];
    const collector = new StatsCollector(env, () => source, 1000, {
      frame: () => {},
      tick: (figures) => ticks.push(figures.map((f) => `${f.id}:${f.name}`)),
    });
    await collector.tick();
    list.views = [{ id: "a", name: "web-2", pid: 1 }];
    list.version++;
    await collector.tick();
    expect(ticks).toEqual([["a:web", "b:db"], ["a:web-2"]]);
    expect(collector.now().map((s) => [s.id, s.name])).toEqual([["a", "web-2"]]);
    collector.close();
  });
});
