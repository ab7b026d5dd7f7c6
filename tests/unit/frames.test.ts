import { unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeFrame, encodeMessage } from "../../src/protocol/frames.ts";
import { encodeFrame } from "../../src/stream/frames.ts";

describe("stream frames", () => {
  it("server frames are plain msgpack maps the shared decoder reads", () => {
    const bytes = encodeFrame("containers:local", { k: "remove", d: { id: "abc" } });
    expect(unpack(bytes)).toEqual({ t: "containers:local", k: "remove", d: { id: "abc" } });
    expect(decodeFrame(bytes)).toEqual({ t: "containers:local", k: "remove", d: { id: "abc" } });
  });

  it("client messages encoded by hand are the msgpack any decoder expects", () => {
    const long = `logs:local:${"f".repeat(64)}`;
    const topics = [long, "envs", ...Array.from({ length: 20 }, (_, i) => `containers:env${i}`)];
    expect(unpack(encodeMessage({ op: "sub", topics }))).toEqual({ op: "sub", topics });
    expect(unpack(encodeMessage({ op: "ping" }))).toEqual({ op: "ping" });
    const huge = "x".repeat(70_000);
    expect(unpack(encodeMessage({ op: "unsub", topics: [huge] }))).toEqual({ op: "unsub", topics: [huge] });
  });

  it("a sub's exec options encode as a nested map, argv and all", () => {
    const opts = {
      cmd: ["sh", "-c", "echo $((1+1)); ünïcode ".repeat(3), "x".repeat(300)],
      user: "1000:1000",
    };
    const msg = { op: "sub" as const, topics: ["exec:local:web:session-1"], opts };
    expect(unpack(encodeMessage(msg))).toEqual(msg);
    const attach = {
      op: "sub" as const,
      topics: ["exec:local:web:session-2"],
      opts: { mode: "attach" as const },
    };
    expect(unpack(encodeMessage(attach))).toEqual(attach);
  });

  it("terminal input and sizes encode as bytes and integers of every width", () => {
    const t = "exec:local:web:session-1";
    for (const size of [0, 5, 255, 256, 65_535, 65_536]) {
      const d = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      expect(new Uint8Array(unpack(encodeMessage({ op: "input", t, d })).d)).toEqual(d);
    }
    for (const [cols, rows] of [
      [80, 24],
      [127, 128],
      [1000, 70_000],
    ] as const) {
      expect(unpack(encodeMessage({ op: "resize", t, d: { cols, rows } }))).toEqual({
        op: "resize",
        t,
        d: { cols, rows },
      });
    }
  });

  it("refuses frames that are not maps with t and k", () => {
    expect(() => decodeFrame(new Uint8Array([0x01]))).toThrow();
    expect(() => decodeFrame(encodeMessage({ op: "ping" }))).toThrow(/t or k/);
  });
});
