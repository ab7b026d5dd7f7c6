import { describe, expect, it } from "vitest";
import { StatsFrameEncoder } from "../../src/stats/frame-encoder.ts";
import { watchStats } from "../../web/features/stats/stats.ts";
import type { Stream } from "../../web/lib/stream.ts";
import { tickFigures } from "../helpers/figures.ts";

const fig = (id: string, cpu: number) => tickFigures(id, { cpu_percent: cpu });

/** A stream whose one subscriber the test feeds frames to by hand. */
function fakeStream() {
  let handler: ((kind: string, data: unknown) => void) | undefined;
  const stream = {
    subscribe: (_topic: string, h: (kind: string, data: unknown) => void) => {
      handler = h;
      return () => {};
    },
  } as unknown as Stream;
  return { stream, send: (kind: string, data: unknown) => handler!(kind, data) };
}

describe("the UI's stats feed (watchStats)", () => {
  it("tells its views of whole ticks only: once per tick, however many frames the tick came in", () => {
    const enc = new StatsFrameEncoder(1000, () => "cgroup");
    const { stream, send } = fakeStream();
    const seen: string[][] = [];
    const view = (t: { views(): { id: string; cpu_percent: number }[] }) =>
      seen.push(t.views().map((v) => `${v.id}=${v.cpu_percent}`));
    watchStats(stream, "local", { tick: view, error: () => {} });
    enc.tick([fig("a", 1), fig("b", 2)]);
    send("key", enc.keyframe());
    send("delta", enc.part([fig("a", 3)], Date.now(), false));
    // A view that joins between two frames of a tick waits for its end too.
    const late: number[] = [];
    watchStats(stream, "local", { tick: (t) => late.push(t.seq), error: () => {} });
    expect(late).toEqual([]);
    send("delta", enc.part([fig("b", 4)], Date.now(), true));
    expect(seen).toEqual([
      ["a=1", "b=2"],
      ["a=3", "b=4"],
    ]);
    expect(late).toHaveLength(1);
  });
});
