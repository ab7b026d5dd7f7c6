import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../src/protocol/frames.ts";
import { StatsParts } from "../../src/protocol/stats-datagrams.ts";
import { StatsTable } from "../../src/protocol/stats-frames.ts";
import { StatsFrameEncoder, type TickFigures } from "../../src/stats/frame-encoder.ts";
import { statsDatagrams } from "../../src/stream/datagram-frames.ts";
import { encodeFrame } from "../../src/stream/frames.ts";

const MAX = 1150;
const TOPIC = "stats:local";

/** n containers with names and ids as long as Docker's, figures that differ per container and tick. */
function figures(n: number, tick: number, busy = (i: number) => i % 3 === 0): TickFigures[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i.toString(16).padStart(64, "c"),
    name: `gptest-some-project-service-${i}`,
    cpu_percent: busy(i) ? 5 + ((i * 7 + tick * 13) % 90) : 0,
    mem_usage: (20 + i + (busy(i) ? tick * 3 : 0)) * 1024 * 1024,
    mem_limit: 2 * 1024 ** 3,
    net_rx_rate: busy(i) ? 1000 * (1 + ((i + tick) % 9)) : 0,
    net_tx_rate: busy(i) ? 500 * (1 + ((i * tick) % 7)) : 0,
    blk_read_rate: 0,
    blk_write_rate: 0,
    pids: 1 + (i % 4),
  }));
}

const datagrams = (k: string, d: unknown) => {
  const cut = statsDatagrams(encodeFrame(TOPIC, { k, d }), MAX)!;
  for (const part of cut.parts) expect(part.byteLength).toBeLessThanOrEqual(MAX);
  return cut.parts.map((p) => decodeFrame(p));
};

const rows = (t: StatsTable) => [...t.rows.values()].map((r) => `${r.id} ${r.name} ${r.k.join(",")}`).sort();

describe("stats frames as QUIC datagrams", () => {
  it("leaves a frame that fits as it is, and goes past other topics' frames", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    enc.tick(figures(3, 0));
    const frame = encodeFrame(TOPIC, { k: "key", d: enc.keyframe() });
    expect(statsDatagrams(frame, MAX)).toEqual({ topic: TOPIC, key: true, parts: [frame] });
    expect(statsDatagrams(encodeFrame("containers:local", { k: "snapshot", d: [] }), MAX)).toBeUndefined();
    expect(statsDatagrams(encodeFrame(TOPIC, { k: "error", d: {} }), MAX)).toBeUndefined();
  });

  it("cuts frames of 200 containers into parts that rebuild the same table, in any order", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const whole = new StatsTable();
    const client = new StatsParts();
    enc.tick(figures(200, 0));
    const key = enc.keyframe();
    whole.apply("key", key);
    const keyParts = datagrams("key", key);
    expect(keyParts.length).toBeGreaterThan(10);
    for (const f of keyParts.reverse()) expect(client.apply(f.k, f.d)).toBe(true);
    expect(rows(client.table)).toEqual(rows(whole));
    for (let tick = 1; tick <= 5; tick++) {
      // Containers come and go too: a delta's new and gone rows are cut like its changes.
      const n = tick === 3 ? 150 : 200 + tick * 20;
      const delta = enc.tick(figures(n, tick, (i) => i % 3 === 0 || tick === 4));
      whole.apply("delta", delta);
      const parts = datagrams("delta", delta);
      if (tick === 4) expect(parts.length).toBeGreaterThan(1);
      for (const f of [...parts.slice(1), parts[0]!]) expect(client.apply(f.k, f.d)).toBe(true);
      expect(rows(client.table)).toEqual(rows(whole));
      expect(client.table.seq).toBe(whole.seq);
    }
  });

  it("keeps a tick read in several frames marked as such in every datagram part", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const client = new StatsParts();
    enc.tick(figures(80, 0));
    for (const f of datagrams("key", enc.keyframe())) client.apply(f.k, f.d);
    // 100 containers new in the first frame: too big for one datagram
    const all = figures(180, 1, () => true);
    const first = datagrams("delta", enc.part(all.slice(80), Date.now(), false));
    expect(first.length).toBeGreaterThan(1);
    for (const f of first) {
      expect((f.d as { m?: number }).m).toBe(1);
      expect(client.apply(f.k, f.d)).toBe(true);
      expect(client.table.partial).toBe(true);
    }
    for (const f of datagrams("delta", enc.part(all.slice(0, 80), Date.now(), true))) {
      expect((f.d as { m?: number }).m).toBeUndefined();
      expect(client.apply(f.k, f.d)).toBe(true);
    }
    expect(client.table.partial).toBe(false);
    expect(client.table.rows.size).toBe(180);
  });

  it("loses only the containers of a lost part, until a keyframe repairs them", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const client = new StatsParts();
    enc.tick(figures(120, 0));
    const keyParts = datagrams("key", enc.keyframe());
    const lost = keyParts[1]!;
    for (const f of keyParts) if (f !== lost) client.apply(f.k, f.d);
    const missing = (lost.d as { c: [number, string][] }).c.map(([, id]) => id);
    const shown = new Set([...client.table.rows.values()].map((r) => r.id));
    expect(shown.size).toBe(120 - missing.length);
    for (const id of missing) expect(shown.has(id)).toBe(false);
    // The next tick still applies to the containers the client has.
    const delta = enc.tick(figures(120, 1, () => true));
    for (const f of datagrams("delta", delta)) client.apply(f.k, f.d);
    const whole = new StatsTable();
    whole.apply("key", enc.keyframe());
    const kept = rows(whole).filter((r) => shown.has(r.split(" ")[0]!));
    expect(rows(client.table)).toEqual(kept);
    // A keyframe, as the panel sends on loss: whole again.
    for (const f of datagrams("key", enc.keyframe())) client.apply(f.k, f.d);
    expect(rows(client.table)).toEqual(rows(whole));
  });

  it("refuses a delta that does not follow, and a part of an older keyframe", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const client = new StatsParts();
    enc.tick(figures(60, 0));
    const old = datagrams("key", enc.keyframe());
    enc.tick(figures(60, 1));
    const skipped = enc.tick(figures(60, 2));
    client.apply(old[0]!.k, old[0]!.d);
    for (const f of datagrams("delta", skipped)) expect(client.apply(f.k, f.d)).toBe(false);
    for (const f of datagrams("key", enc.keyframe())) expect(client.apply(f.k, f.d)).toBe(true);
    expect(client.apply(old[1]!.k, old[1]!.d)).toBe(false);
  });
});
