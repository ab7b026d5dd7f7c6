import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../src/protocol/frames.ts";
import { type Sink, TopicError, type TopicOutput } from "../../src/stream/bus.ts";
import { encodeFrame } from "../../src/stream/frames.ts";
import { adminBus, adminCaller } from "../helpers/bus.ts";

const caller = adminCaller;
const newBus = adminBus;

function sink() {
  const got: { t: string; k: string; d: unknown }[] = [];
  const ended: string[] = [];
  const state = { slow: false };
  const s: Sink = {
    deliver: (f) => got.push(decodeFrame(f)),
    offer: (f) => {
      if (state.slow) return false;
      got.push(decodeFrame(f));
      return true;
    },
    ended: (t) => ended.push(t),
  };
  return { s, got, ended, state };
}

describe("topic bus", () => {
  it("sends the snapshot to the newcomer only, fans out publishes, and runs a source only while watched", async () => {
    const bus = newBus();
    let active = 0;
    let out: TopicOutput | undefined;
    bus.register("demo", {
      action: "containers:read",
      open: (args) => {
        if (args[0] !== "ok") throw new TopicError("not_found", "no such demo");
        return [{ k: "snapshot", d: [1] }];
      },
      activate: (_args, o) => {
        active++;
        out = o;
        return () => active--;
      },
    });
    const a = sink();
    const b = sink();
    await bus.subscribe("demo:ok", a.s, { caller });
    await bus.subscribe("demo:ok", b.s, { caller });
    expect(active).toBe(1);
    expect(a.got.map((f) => f.k)).toEqual(["snapshot"]);
    out!.emit({ k: "tick", d: 2 });
    expect(a.got.at(-1)).toEqual({ t: "demo:ok", k: "tick", d: 2 });
    expect(b.got.map((f) => f.k)).toEqual(["snapshot", "tick"]);
    bus.unsubscribe("demo:ok", a.s);
    expect(active).toBe(1);
    bus.unsubscribe("demo:ok", b.s);
    expect(active).toBe(0);
    await expect(bus.subscribe("demo:nope", a.s, { caller })).rejects.toThrow(/no such demo/);
    await expect(bus.subscribe("other", a.s, { caller })).rejects.toThrow(/unknown topic/);
  });

  it("hands input to the source only from a subscriber, and only up to the size limit", async () => {
    const bus = newBus();
    const taken: unknown[] = [];
    bus.register("term", {
      action: "containers:read",
      open: () => [],
      input: (args, m) => taken.push([args, m.k, m.d]),
    });
    bus.register("quiet", { action: "containers:read", open: () => [] });
    const a = sink();
    const b = sink();
    await bus.subscribe("term:x", a.s, { caller });
    await bus.subscribe("quiet", a.s, { caller });
    bus.input("term:x", a.s, { k: "input", d: new Uint8Array([104, 105]) });
    expect(taken).toEqual([[["x"], "input", new Uint8Array([104, 105])]]);
    const code = (run: () => void) => {
      try {
        run();
      } catch (err) {
        return (err as TopicError).code;
      }
    };
    expect(code(() => bus.input("term:x", b.s, { k: "input", d: new Uint8Array(1) }))).toBe("not_subscribed");
    expect(code(() => bus.input("term:y", a.s, { k: "input", d: new Uint8Array(1) }))).toBe("not_subscribed");
    expect(code(() => bus.input("quiet", a.s, { k: "input", d: new Uint8Array(1) }))).toBe("unsupported");
    expect(code(() => bus.input("term:x", a.s, { k: "input", d: new Uint8Array(64 * 1024 + 1) }))).toBe(
      "too_large",
    );
    expect(taken).toHaveLength(1);
  });

  it("ends a topic from the source: a last frame, then every subscriber is let go", async () => {
    const bus = newBus();
    let out: TopicOutput | undefined;
    let stopped = 0;
    bus.register("logs", {
      action: "containers:read",
      open: () => [],
      activate: (_a, o) => {
        out = o;
        return () => stopped++;
      },
    });
    const a = sink();
    await bus.subscribe("logs:x", a.s, { caller });
    out!.end({ k: "end", d: { reason: "gone" } });
    expect(a.got).toEqual([{ t: "logs:x", k: "end", d: { reason: "gone" } }]);
    expect(a.ended).toEqual(["logs:x"]);
    expect(stopped).toBe(1);
    expect(bus.subscriberCount("logs:x")).toBe(0);
  });

  it("offers newest-only frames per subscriber and says who took them", async () => {
    const bus = newBus();
    bus.register("stats", { action: "containers:read", open: () => [] });
    const fast = sink();
    const slow = sink();
    slow.state.slow = true;
    await bus.subscribe("stats:x", fast.s, { caller });
    await bus.subscribe("stats:x", slow.s, { caller });
    const taken = new Map<Sink, boolean>();
    const frame = (k: string) => encodeFrame("stats:x", { k });
    bus.publishLatest(
      "stats:x",
      (s) => frame(s === fast.s ? "delta" : "key"),
      (s, ok) => taken.set(s, ok),
    );
    expect(fast.got.map((f) => f.k)).toEqual(["delta"]);
    expect(slow.got).toEqual([]);
    expect(taken.get(fast.s)).toBe(true);
    expect(taken.get(slow.s)).toBe(false);
  });
});
