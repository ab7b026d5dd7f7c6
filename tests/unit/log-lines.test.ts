import { describe, expect, it } from "vitest";
import { LogLineDecoder } from "../../src/engine/log-lines.ts";

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe("LogLineDecoder", () => {
  it("tells stdout from stderr in the engine's multiplexed frames, across chunk boundaries", () => {
    const bytes = Buffer.concat([
      frame(1, "2026-11-22T01:02:03.123456789Z hello\n"),
      frame(2, "2026-11-22T01:02:04.000000001Z boom\npart"),
      frame(2, "ial\n"),
    ]);
    const d = new LogLineDecoder(true, true);
    const lines = [];
    for (let i = 0; i < bytes.length; i += 5) lines.push(...d.push(bytes.subarray(i, i + 5)));
    expect(lines).toEqual([
      { stream: "stdout", time: "2026-11-22T01:02:03.123456789Z", text: "hello" },
      { stream: "stderr", time: "2026-11-22T01:02:04.000000001Z", text: "boom" },
      { stream: "stderr", time: null, text: "partial" },
    ]);
  });

  it("drops timestamps when not asked for, reads raw TTY output, and flushes a last unterminated line", () => {
    const d = new LogLineDecoder(false, false);
    expect(d.push(Buffer.from("2026-11-22T01:02:03Z one\r\n2026-11-22T01:02:03Z tw"))).toEqual([
      { stream: "stdout", time: null, text: "one" },
    ]);
    expect(d.push(Buffer.from("o"))).toEqual([]);
    expect(d.flush()).toEqual([{ stream: "stdout", time: null, text: "two" }]);
  });
});
