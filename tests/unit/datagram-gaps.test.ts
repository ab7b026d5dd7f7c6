import { describe, expect, it } from "vitest";
import { DatagramGaps } from "../../src/watch/datagram-gaps.ts";

const T = "stats:local";

describe("DatagramGaps (what a watch over QUIC asks a keyframe for)", () => {
  it("asks nothing while every frame and every part comes, copies included", () => {
    const g = new DatagramGaps();
    const said = [
      g.seen(T, "key", { s: 4, p: [0, 2] }),
      g.seen(T, "key", { s: 4, p: [1, 2] }),
      g.seen(T, "key", { s: 4, p: [0, 2] }),
      g.seen(T, "delta", { s: 5 }),
      g.seen(T, "delta", { s: 5 }),
      g.seen(T, "delta", { s: 6, p: [1, 2] }),
      g.seen(T, "delta", { s: 6, p: [0, 2] }),
      g.seen(T, "delta", { s: 7 }),
      // a keyframe the panel sent again at the same tick, then the next delta
      g.seen(T, "key", { s: 7 }),
      g.seen(T, "delta", { s: 8 }),
    ];
    expect(said).toEqual(said.map(() => false));
  });

  it("asks when a keyframe's part had not come by the next tick", () => {
    const g = new DatagramGaps();
    g.seen(T, "key", { s: 1, p: [0, 3] });
    g.seen(T, "key", { s: 1, p: [2, 3] });
    expect(g.seen(T, "delta", { s: 2 })).toBe(true);
  });

  it("asks when a whole tick is missing, or a delta comes before any keyframe", () => {
    const g = new DatagramGaps();
    expect(g.seen(T, "delta", { s: 3 })).toBe(true);
    g.seen(T, "key", { s: 3 });
    expect(g.seen(T, "delta", { s: 5 })).toBe(true);
  });

  it("asks nothing of a late copy, of a newer keyframe, or of what is not a stats frame", () => {
    const g = new DatagramGaps();
    g.seen(T, "key", { s: 9, p: [0, 2] });
    expect(g.seen(T, "delta", { s: 9 })).toBe(false);
    expect(g.seen(T, "delta", { s: 8 })).toBe(false);
    // an incomplete keyframe replaced by a whole one: nothing to ask
    expect(g.seen(T, "key", { s: 11 })).toBe(false);
    expect(g.seen(T, "pong", undefined)).toBe(false);
    expect(g.seen("stats:other", "key", { s: 1 })).toBe(false);
  });

  it("asks again, at most every second, while no keyframe has come since it asked", () => {
    const g = new DatagramGaps();
    g.seen(T, "key", { s: 1 }, 0);
    expect(g.seen(T, "delta", { s: 3 }, 100)).toBe(true);
    // Deltas that follow each other, but no keyframe: the answer was refused or lost.
    expect(g.seen(T, "delta", { s: 4 }, 600)).toBe(false);
    expect(g.seen(T, "delta", { s: 5 }, 1100)).toBe(true);
    expect(g.seen(T, "delta", { s: 6 }, 1500)).toBe(false);
    expect(g.seen(T, "delta", { s: 7 }, 2200)).toBe(true);
    // The keyframe came: nothing more to ask while frames follow on.
    g.seen(T, "key", { s: 8 }, 2300);
    expect(g.seen(T, "delta", { s: 9 }, 3400)).toBe(false);
    expect(g.seen(T, "delta", { s: 10 }, 5000)).toBe(false);
  });
});
