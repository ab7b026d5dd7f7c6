import { describe, expect, it } from "vitest";
import { LOSSY_FOR_MS, LossyLink } from "../../src/stream/lossy-link.ts";

describe("LossyLink (when a watch over QUIC sends its stats datagrams twice)", () => {
  it("starts with two copies, and goes to one after a minute without loss", () => {
    const link = new LossyLink(1_000);
    expect(link.copies(1_000)).toBe(2);
    expect(link.copies(1_000 + LOSSY_FOR_MS - 1)).toBe(2);
    expect(link.copies(1_000 + LOSSY_FOR_MS)).toBe(1);
  });

  it("takes two copies again for a minute from each loss", () => {
    const link = new LossyLink(0);
    expect(link.copies(LOSSY_FOR_MS + 5_000)).toBe(1);
    link.lost(LOSSY_FOR_MS + 10_000);
    expect(link.copies(LOSSY_FOR_MS + 10_000)).toBe(2);
    // a second loss before the minute is out starts the minute again
    link.lost(LOSSY_FOR_MS + 50_000);
    expect(link.copies(2 * LOSSY_FOR_MS + 20_000)).toBe(2);
    expect(link.copies(2 * LOSSY_FOR_MS + 50_000)).toBe(1);
  });
});
