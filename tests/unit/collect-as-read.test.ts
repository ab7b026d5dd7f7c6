import { describe, expect, it } from "vitest";
import { collectAsRead } from "../../src/volumes/collect-as-read.ts";

/** A stream of `count` chunks of `size` bytes, each filled with its index; says when it was cancelled. */
function source(count: number, size: number) {
  const state = { pulled: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled === count) return controller.close();
        controller.enqueue(new Uint8Array(size).fill(state.pulled++));
      },
      cancel(reason) {
        state.cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

describe("collectAsRead: a long stream that collects its garbage as it goes", () => {
  it("passes every byte through unchanged and in order, across many collections", async () => {
    const { stream } = source(40, 1000);
    const bytes = new Uint8Array(await new Response(collectAsRead(stream, 4096)).arrayBuffer());
    expect(bytes.length).toBe(40_000);
    for (let i = 0; i < 40; i++)
      expect(bytes.subarray(i * 1000, (i + 1) * 1000).every((b) => b === i)).toBe(true);
  });

  it("reads only as fast as it is read (nothing is pulled ahead) and hands a cancel upstream", async () => {
    const { stream, state } = source(1000, 64);
    const reader = collectAsRead(stream, 128).getReader();
    await reader.read();
    await reader.read();
    expect(state.pulled).toBe(2);
    await reader.cancel("client went away");
    expect(state.cancelled).toBe("client went away");
  });
});
