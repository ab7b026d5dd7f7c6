import { describe, expect, it } from "vitest";
import { peekFrame } from "../../bench/lib/peek-frame.ts";
import { decodeFrame } from "../../src/protocol/frames.ts";
import { StatsFrameEncoder } from "../../src/stats/frame-encoder.ts";
import { encodeFrame } from "../../src/stream/frames.ts";
import { tickFigures } from "../helpers/figures.ts";

// The stats bench times every frame from what peekFrame reads (bench/lib/peek-frame.ts): it must
// read what a full decode reads, or the latency it reports is of the wrong frame.

const fig = (id: string, cpu: number) => tickFigures(id, { cpu_percent: cpu });

describe("the stats bench's frame peek", () => {
  it("reads the kind, sequence number, sample time and more-follows of keyframes and deltas as a full decode does", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const frames: Uint8Array[] = [];
    // A time in ms (past 2^32: a uint64 or a float64 on the wire) and one with a fraction.
    for (const [i, t] of [1_764_658_800_123, 1_764_658_801_124.5, 1_764_658_802_125].entries()) {
      const figures = Array.from({ length: 50 }, (_, n) => fig(String(n), n % 3 === 0 ? 5 + i : 0));
      const d = enc.tick(figures, t);
      frames.push(encodeFrame("stats:local", { k: "delta", d }));
      frames.push(encodeFrame("stats:local", { k: "key", d: enc.keyframe() }));
      // The same tick again, in two parts, with a keyframe between them.
      const busier = figures.map((f) => ({ ...f, cpu_percent: f.cpu_percent + 1 }));
      frames.push(
        encodeFrame("stats:local", { k: "delta", d: enc.part(busier.slice(0, 25), t + 5, false)! }),
      );
      frames.push(encodeFrame("stats:local", { k: "key", d: enc.keyframe() }));
      frames.push(encodeFrame("stats:local", { k: "delta", d: enc.part(busier.slice(25), t + 10, true)! }));
    }
    const more: number[] = [];
    for (const bytes of frames) {
      const full = decodeFrame(bytes) as { k: string; d: { s: number; t: number; m?: number } };
      expect(peekFrame(bytes)).toEqual({ k: full.k, s: full.d.s, t: full.d.t, m: full.d.m ?? 0 });
      more.push(full.d.m ?? 0);
    }
    expect(more.slice(0, 5)).toEqual([0, 0, 1, 1, 0]);
  });

  it("gives up on frames that are not stats frames (the caller decodes those in full)", () => {
    expect(peekFrame(encodeFrame("host:local", { k: "host", d: { cpu_percent: 3.5 } }))).toBeUndefined();
    expect(peekFrame(new Uint8Array([0xc1, 0x00]))).toBeUndefined();
  });
});
