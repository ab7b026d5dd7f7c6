import { Database } from "bun:sqlite";
import { describe, expect, it } from "vitest";
import { Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import type { Environments } from "../../src/envs/environments.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import type { StatsCollectors, Tick } from "../../src/stats/collectors.ts";
import { StatsFrameEncoder, type TickFigures } from "../../src/stats/frame-encoder.ts";
import type { HostFigures } from "../../src/stats/host.ts";
import { registerStatsTopic } from "../../src/stats/topic.ts";
import { TopicBus } from "../../src/stream/bus.ts";
import { adminCaller, RecordingSink } from "../helpers/bus.ts";

/** A subscriber that can be made to refuse frames, as a slow client is skipped. */
class FlakySink extends RecordingSink {
  refuse = false;
  override offer(frame: Uint8Array): boolean {
    if (this.refuse) return false;
    return super.offer(frame);
  }
}

const fig = (id: string, cpu: number): TickFigures => ({
  id,
  name: `c-${id}`,
  cpu_percent: cpu,
  mem_usage: 50 * 1024 * 1024 + cpu * 1024 * 1024,
  mem_limit: 1024 * 1024 * 1024,
  net_rx_rate: cpu * 1000,
  net_tx_rate: cpu * 500,
  blk_read_rate: 0,
  blk_write_rate: 0,
  pids: 2,
});

const host = (cpu: number): HostFigures => ({
  cpu_percent: cpu,
  ncpu: 2,
  mem_used: 1_000_000_000,
  mem_total: 8_000_000_000,
  load: [0.5, 0.4, 0.3],
  net_rx_rate: 1000,
  net_tx_rate: 2000,
  disks: [{ path: "/", used: 10, total: 100 }],
});

/** The stats topic over a stand-in collector: ticks are driven by the test. */
function setup() {
  const bus = new TopicBus(new Policy(new TeamStore(new Database(":memory:"))));
  const encoder = new StatsFrameEncoder(1000, () => "cgroup");
  const collector = { encoder, intervalMs: 1000, sourceName: "cgroup", watch: () => () => {} };
  let onTick: ((envId: string, c: unknown, t: Tick) => void) | undefined;
  let onHost: ((envId: string, h: HostFigures) => void) | undefined;
  const collectors = {
    get: (id: string) => (id === "local" ? collector : undefined),
    hasHost: () => true,
    onTick: (l: typeof onTick) => {
      onTick = l;
    },
    onHost: (l: typeof onHost) => {
      onHost = l;
    },
  } as unknown as StatsCollectors;
  const envs = {
    get: (id: string) => (id === "local" ? { id, name: id } : undefined),
  } as unknown as Environments;
  registerStatsTopic(bus, { envs, collectors, policy: new Policy(new TeamStore(new Database(":memory:"))) });
  return {
    bus,
    tick(figures: TickFigures[]) {
      const delta = encoder.tick(figures, Date.now());
      onTick!("local", collector, { delta, figures });
    },
    host(h: HostFigures) {
      onHost!("local", h);
    },
  };
}

const stats = (sink: RecordingSink) => sink.frames.filter((f: Frame) => f.t === "stats:local");

describe("stats topic", () => {
  it("sends a keyframe on subscribe and after a dropped frame, deltas otherwise, and no periodic keyframes", async () => {
    const s = setup();
    const mix = (i: number) => [fig("a", 10 + (i % 5)), fig("b", 0), fig("c", 30 - (i % 3))];
    s.tick(mix(0));
    const sink = new FlakySink();
    await s.bus.subscribe("stats:local", sink, { caller: adminCaller });
    expect(stats(sink).map((f) => f.k)).toEqual(["key"]);
    const table = new StatsTable();
    for (let i = 1; i <= 40; i++) s.tick(mix(i));
    const kinds = stats(sink).map((f) => f.k);
    // 40 ticks, none of them a keyframe: a keyframe goes only to whoever needs one.
    expect(kinds.slice(1)).toEqual(Array(40).fill("delta"));
    for (const f of stats(sink)) expect(table.apply(f.k, f.d)).toBe(true);
    // Slow for two ticks (skipped), then a keyframe that puts the client right at once.
    sink.refuse = true;
    s.tick(mix(41));
    s.tick(mix(42));
    sink.refuse = false;
    s.tick(mix(43));
    s.tick(mix(44));
    const after = stats(sink).slice(41);
    expect(after.map((f) => f.k)).toEqual(["key", "delta"]);
    for (const f of after) expect(table.apply(f.k, f.d)).toBe(true);
    // The table the client holds is the full, current picture: what a fresh keyframe gives.
    const fresh = new FlakySink();
    await s.bus.subscribe("stats:local", fresh, { caller: adminCaller });
    const reference = new StatsTable();
    const [key] = stats(fresh);
    expect(reference.apply(key!.k, key!.d)).toBe(true);
    expect(table.views()).toEqual(reference.views());
    expect(table.views().find((v) => v.id === "c")?.cpu_percent).toBe(30 - (44 % 3));
  });

  it("a client that reconnects starts from a keyframe of every container", async () => {
    const s = setup();
    s.tick([fig("a", 1), fig("b", 2)]);
    const first = new FlakySink();
    await s.bus.subscribe("stats:local", first, { caller: adminCaller });
    s.tick([fig("a", 1), fig("b", 3)]);
    s.bus.unsubscribe("stats:local", first);
    s.tick([fig("a", 4), fig("b", 3), fig("d", 7)]);
    const again = new FlakySink();
    await s.bus.subscribe("stats:local", again, { caller: adminCaller });
    const [key] = stats(again);
    expect(key!.k).toBe("key");
    const t = new StatsTable();
    t.apply(key!.k, key!.d);
    expect(t.views().map((v) => [v.id, v.cpu_percent])).toEqual([
      ["a", 4],
      ["b", 3],
      ["d", 7],
    ]);
  });

  it("sends all host figures first, then only those that changed; all again after a dropped frame", async () => {
    const s = setup();
    const sink = new FlakySink();
    await s.bus.subscribe("host:local", sink, { caller: adminCaller });
    s.host(host(10));
    s.host(host(12));
    s.host(host(12));
    sink.refuse = true;
    s.host(host(13));
    sink.refuse = false;
    s.host(host(13));
    const frames = sink.frames.filter((f) => f.t === "host:local").map((f) => f.d);
    expect(frames[0]).toEqual(host(10));
    expect(frames[1]).toEqual({ cpu_percent: 12 });
    expect(frames[2]).toEqual({});
    expect(frames[3]).toEqual(host(13));
  });
});
