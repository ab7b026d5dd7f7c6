import { Database } from "bun:sqlite";
import { describe, expect, it } from "vitest";
import type { Audience, Caller } from "../../src/auth/policy.ts";
import { Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import type { Environments } from "../../src/envs/environments.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import type { StatsCollectors, StatsFrame } from "../../src/stats/collectors.ts";
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

/** Sees only the containers named `c-mine…`: a team's audience, without teams to set up. */
const teamCaller: Caller = { ...adminCaller, user: { ...adminCaller.user, id: 2 } };
const teamAudience: Audience = { key: "team", sees: (c) => c.name.startsWith("c-mine") };

/** The stats topic over a stand-in collector: ticks are driven by the test. */
function setup() {
  const bus = new TopicBus(new Policy(new TeamStore(new Database(":memory:"))));
  const encoder = new StatsFrameEncoder(1000, () => "cgroup");
  const collector = { encoder, intervalMs: 1000, sourceName: "cgroup", watch: () => () => {} };
  let onFrame: ((envId: string, c: unknown, f: StatsFrame) => void) | undefined;
  let onHost: ((envId: string, h: HostFigures) => void) | undefined;
  let ownershipChanged: (() => void) | undefined;
  const collectors = {
    get: (id: string) => (id === "local" ? collector : undefined),
    hasHost: () => true,
    onFrame: (l: typeof onFrame) => {
      onFrame = l;
    },
    onHost: (l: typeof onHost) => {
      onHost = l;
    },
  } as unknown as StatsCollectors;
  const envs = {
    get: (id: string) =>
      id === "local"
        ? { id, name: id, containers: { find: (cid: string) => ({ id: cid, name: `c-${cid}` }) } }
        : undefined,
  } as unknown as Environments;
  const policy = {
    audience: (caller: Caller): Audience =>
      caller.user.id === teamCaller.user.id ? teamAudience : { key: "*", sees: () => true },
    onOwnershipChange: (l: () => void) => {
      ownershipChanged = l;
    },
  } as unknown as Policy;
  registerStatsTopic(bus, { envs, collectors, policy });
  return {
    bus,
    tick(figures: TickFigures[]) {
      const delta = encoder.tick(figures, Date.now());
      onFrame!("local", collector, { delta, figures });
    },
    /** One tick read in parts; `between` runs after the part of that index has gone out. */
    parts(parts: TickFigures[][], between?: (index: number) => void) {
      parts.forEach((figures, i) => {
        const delta = encoder.part(figures, Date.now(), i === parts.length - 1);
        if (delta) onFrame!("local", collector, { delta, figures });
        between?.(i);
      });
    },
    ownershipChange() {
      ownershipChanged!();
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

  it("sends a tick read in parts as one delta per part, to everyone and to a team that sees some", async () => {
    const s = setup();
    const mix = (i: number) => [
      [fig("mine-a", 10 + (i % 4)), fig("b", 1 + (i % 2))],
      [fig("c", 5 + (i % 3)), fig("d", 0)],
      [fig("mine-e", 20 - (i % 5))],
    ];
    s.parts(mix(0));
    const admin = new FlakySink();
    const team = new FlakySink();
    await s.bus.subscribe("stats:local", admin, { caller: adminCaller });
    await s.bus.subscribe("stats:local", team, { caller: teamCaller });
    for (let i = 1; i <= 6; i++) s.parts(mix(i));
    // Everyone: three frames a tick, the first two marked as followed by more.
    const adminFrames = stats(admin);
    expect(adminFrames.slice(1).map((f) => (f.d as { m?: number }).m ?? 0)).toEqual(
      Array(6).fill([1, 1, 0]).flat(),
    );
    // The team: the middle part has nothing it sees and goes to it as nothing.
    const teamFrames = stats(team);
    expect(teamFrames.slice(1).map((f) => (f.d as { m?: number }).m ?? 0)).toEqual(
      Array(6).fill([1, 0]).flat(),
    );
    const tables = [admin, team].map((sink) => {
      const t = new StatsTable();
      for (const f of stats(sink)) expect(t.apply(f.k, f.d)).toBe(true);
      expect(t.partial).toBe(false);
      return t;
    });
    expect(tables[0]!.views().map((v) => [v.id, v.cpu_percent])).toEqual([
      ["mine-a", 12],
      ["b", 1],
      ["c", 5],
      ["d", 0],
      ["mine-e", 19],
    ]);
    expect(tables[1]!.views().map((v) => [v.id, v.cpu_percent])).toEqual([
      ["mine-a", 12],
      ["mine-e", 19],
    ]);
    // A container that no part of a tick carries is gone at that tick's last frame, not before.
    const gone = new StatsTable();
    for (const f of stats(team)) gone.apply(f.k, f.d);
    s.parts([[fig("b", 1)], [fig("mine-e", 3)]], (i) => {
      if (i === 0) {
        const [last] = stats(team).slice(-1);
        gone.apply(last!.k, last!.d);
        expect(gone.views().map((v) => v.id)).toEqual(["mine-a", "mine-e"]);
      }
    });
    const [last] = stats(team).slice(-1);
    expect(gone.apply(last!.k, last!.d)).toBe(true);
    expect(gone.views().map((v) => [v.id, v.cpu_percent])).toEqual([["mine-e", 3]]);
  });

  it("after an ownership change between two parts of a tick, keeps the containers its earlier parts carried", async () => {
    const s = setup();
    const tick = [[fig("mine-a", 1)], [fig("mine-b", 2)], [fig("mine-c", 3)]];
    s.parts(tick);
    const team = new FlakySink();
    await s.bus.subscribe("stats:local", team, { caller: teamCaller });
    s.parts(
      [[fig("mine-a", 4)], [fig("mine-b", 5)], [fig("mine-c", 6)]],
      (i) => i === 0 && s.ownershipChange(),
    );
    s.parts([[fig("mine-a", 7)], [fig("mine-b", 8)], [fig("mine-c", 9)]]);
    const frames = stats(team);
    const table = new StatsTable();
    const seen: string[][] = [];
    for (const f of frames) {
      expect(table.apply(f.k, f.d)).toBe(true);
      if (!table.partial) seen.push(table.views().map((v) => `${v.id}=${v.cpu_percent}`));
    }
    // Every whole tick shows all three: the keyframe sent mid-tick and the tick's end lost none.
    expect(seen).toEqual([
      ["mine-a=1", "mine-b=2", "mine-c=3"],
      ["mine-a=4", "mine-b=5", "mine-c=6"],
      ["mine-a=7", "mine-b=8", "mine-c=9"],
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
