import fc from "fast-check";
import { unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { fromCode, StatsTable, toCode } from "../../src/protocol/stats-frames.ts";
import { quantise, StatsFrameEncoder, significant, type TickFigures } from "../../src/stats/frame-encoder.ts";
import { encodeFrame } from "../../src/stream/frames.ts";
import { tickFigures } from "../helpers/figures.ts";

const fig = tickFigures;

const wire = (k: string, d: unknown) =>
  unpack(encodeFrame("stats:local", { k, d })) as { k: string; d: unknown };

describe("stats frames", () => {
  it("quantises to what a dashboard shows", () => {
    expect(significant(1234, 2)).toBe(1200);
    expect(significant(99, 2)).toBe(99);
    expect(significant(0.4, 2)).toBe(0);
    expect(quantise(fig("a", { cpu_percent: 9.94, mem_usage: 65_432_100, net_rx_rate: 12_345 }))).toEqual([
      99, 63_900, 1_048_576, 12_000, 0, 0, 0, 1,
    ]);
    expect(quantise(fig("a", { cpu_percent: 99.7 }))[0]).toBe(1000);
  });

  it("sends only what changed, and the shared decoder rebuilds the same table a keyframe gives", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const client = new StatsTable();
    const late = new StatsTable();
    const frames: { k: string; d: unknown }[] = [];
    // As on subscribe: a keyframe first.
    const first = wire("key", enc.keyframe());
    expect(client.apply(first.k, first.d)).toBe(true);
    const ticks: TickFigures[][] = [
      [fig("a"), fig("b")],
      [fig("a", { cpu_percent: 50 }), fig("b")],
      [fig("a", { cpu_percent: 50 }), fig("c", { pids: 3 })],
      [fig("a", { cpu_percent: 25, mem_usage: 20 * 1024 * 1024 }), fig("c", { pids: 3 }), fig("d")],
    ];
    for (const t of ticks) {
      const f = wire("delta", enc.tick(t));
      frames.push(f);
      expect(client.apply(f.k, f.d)).toBe(true);
    }
    // Tick 3 changed nothing of a and removed b: no row for a at all.
    expect((frames[2]!.d as { c?: unknown }).c).toBeUndefined();
    expect((frames[2]!.d as { x: number[] }).x).toHaveLength(1);
    // The index b freed is used again by a later container, never in the same frame.
    const idxOf = (t: StatsTable, id: string) => [...t.rows].find(([, r]) => r.id === id)?.[0];
    expect(idxOf(client, "d")).toBe(1);
    const key = wire("key", enc.keyframe());
    expect(late.apply(key.k, key.d)).toBe(true);
    expect(client.views()).toEqual(late.views());
    expect(client.views().find((v) => v.id === "a")).toMatchObject({
      cpu_percent: 25,
      mem_usage: 20_500 * 1024, // 20 MiB to three digits of KiB
    });
    expect(late.source).toBe("cgroup");
  });

  it("any run of ticks, read in any parts: a client applying every frame holds what a keyframe gives, and each tick's figures", () => {
    // Rows are changed in place tick after tick (no object per container): a change left in a row
    // from an earlier tick or part must never reach a frame, nor a container's mark of being seen.
    const figure = fc.record({
      id: fc.constantFrom("a", "b", "c", "d", "e", "f"),
      cpu_percent: fc.constantFrom(0, 0.5, 12.3, 99.9),
      mem_usage: fc.constantFrom(0, 5_000_000, 64 * 1024 * 1024),
      net_rx_rate: fc.constantFrom(0, 1234, 9_999_999),
      pids: fc.integer({ min: 0, max: 5 }),
    });
    const tick = fc.record({
      figures: fc.uniqueArray(figure, { selector: (f) => f.id, maxLength: 6 }),
      cuts: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(tick, { minLength: 1, maxLength: 12 }), (ticks) => {
        const enc = new StatsFrameEncoder(1000, () => "cgroup");
        const client = new StatsTable();
        const key = wire("key", enc.keyframe());
        client.apply(key.k, key.d);
        for (const t of ticks) {
          const figures = t.figures.map((f) => fig(f.id, f));
          const cuts = [...new Set(t.cuts.map((c) => Math.min(c, figures.length)))].sort((x, y) => x - y);
          let from = 0;
          for (const cut of cuts) {
            const delta = enc.part(figures.slice(from, cut), 0, false);
            from = cut;
            if (!delta) continue;
            const f = wire("delta", delta);
            if (!client.apply(f.k, f.d)) return false;
          }
          // The last part is handed everything, as the collector hands the tick's whole read.
          const last = wire("delta", enc.part(figures, 0, true));
          if (!client.apply(last.k, last.d)) return false;
          // against the encoder's own keyframe, and against a new encoder given only this tick
          const byId = (v: { id: string }[]) => [...v].sort((x, y) => x.id.localeCompare(y.id));
          const viewsOf = (e: StatsFrameEncoder) => {
            const table = new StatsTable();
            const k = wire("key", e.keyframe());
            table.apply(k.k, k.d);
            return byId(table.views());
          };
          const alone = new StatsFrameEncoder(1000, () => "cgroup");
          alone.tick(figures);
          expect(byId(client.views())).toEqual(viewsOf(enc));
          expect(byId(client.views())).toEqual(viewsOf(alone));
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a delta that does not follow the last frame applied", () => {
    const enc = new StatsFrameEncoder(1000, () => "docker");
    const t = new StatsTable();
    t.apply("key", enc.keyframe());
    enc.tick([fig("a")]);
    expect(t.apply("delta", enc.tick([fig("a", { cpu_percent: 3 })]))).toBe(false);
  });

  it("keeps a steady container at zero bytes and a busy one at a few", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const idle = Array.from({ length: 99 }, (_, i) => fig(`idle${i}`));
    enc.tick([...idle, fig("busy", { cpu_percent: 50 })]);
    let bytes = 0;
    const samples = 60;
    for (let i = 0; i < samples; i++) {
      const d = enc.tick([...idle, fig("busy", { cpu_percent: 50 + (i % 7) })]);
      bytes += encodeFrame("stats:local", { k: "delta", d }).length;
    }
    const perContainerSample = bytes / (samples * 100);
    expect(perContainerSample).toBeLessThan(1);
  });

  it("codes: neighbouring rounded values have neighbouring codes, and every code decodes to its value", () => {
    expect([0, 99, 100, 110, 990, 1000, 1100].map((v) => toCode(v, 2))).toEqual([
      0, 99, 100, 101, 189, 190, 191,
    ]);
    expect(toCode(995, 2)).toBe(190); // rounds up into the next decade
    for (const d of [2, 3]) {
      for (let code = 0; code < 3000; code++) expect(toCode(fromCode(code, d), d)).toBe(code);
    }
    expect(toCode(123_456, 0)).toBe(123_456);
  });

  it("a realistic busy mix (30 of 100 with CPU, memory and network moving) costs a few bytes a sample", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const tick = () =>
      Array.from({ length: 100 }, (_, i) =>
        i % 10 === 0 || i % 10 === 3 || i % 10 === 6
          ? fig(`c${i}`, {
              cpu_percent: 0.5 + rnd() * 3,
              mem_usage: (2 + rnd() * 2) * 1024 * 1024,
              net_rx_rate: 1200 + rnd() * 400,
              net_tx_rate: 1200 + rnd() * 400,
            })
          : fig(`c${i}`),
      );
    const client = new StatsTable();
    client.apply("key", wire("key", enc.keyframe()).d);
    let bytes = 0;
    const ticks = 60;
    for (let i = 0; i < ticks; i++) {
      const d = enc.tick(tick());
      const b = encodeFrame("stats:local", { k: "delta", d });
      if (i > 0) bytes += b.length;
      expect(client.apply("delta", unpack(b).d)).toBe(true);
    }
    const perSample = bytes / ((ticks - 1) * 100);
    expect(perSample).toBeLessThan(4);
    // And what the client holds is what a keyframe gives.
    const late = new StatsTable();
    late.apply("key", wire("key", enc.keyframe()).d);
    expect(client.views()).toEqual(late.views());
  });
});
