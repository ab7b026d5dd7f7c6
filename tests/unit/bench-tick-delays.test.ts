import { describe, expect, it } from "vitest";
import { tickDelays } from "../../bench/lib/tick-delays.ts";

describe("bench/lib/tick-delays", () => {
  it("takes each tick's own arrival when it came", () => {
    const applied = [
      { t: 1000, at: 1050 },
      { t: 2000, at: 2060 },
      { t: 3000, at: 3040 },
    ];
    expect(tickDelays(applied, [1000, 2000, 3000], 10_000)).toEqual([50, 60, 40]);
  });

  it("counts a lost tick until a newer one was shown, and a tick never made up to the end", () => {
    // 2000 never came; a keyframe of 2500 came at 2700; nothing after 3000.
    const applied = [
      { t: 1000, at: 1050 },
      { t: 2500, at: 2700 },
      { t: 3000, at: 3050 },
    ];
    expect(tickDelays(applied, [1000, 2000, 3000, 4000], 6000)).toEqual([50, 700, 50, 2000]);
  });

  it("lets a newer frame that came first make up an older tick still on its way", () => {
    // Head-of-line: 2000 came after 3000 (impossible on one ordered stream, not over datagrams).
    const applied = [
      { t: 2000, at: 3500 },
      { t: 3000, at: 3100 },
    ];
    expect(tickDelays(applied, [2000, 3000], 9000)).toEqual([1100, 100]);
  });
});
