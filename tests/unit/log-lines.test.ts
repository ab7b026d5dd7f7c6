import { describe, expect, it } from "vitest";
import { LogLineDecoder, MAX_LINE_CHARS } from "../../src/engine/log-lines.ts";

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

  it("gives the lines of a frame as its payload arrives, and cuts a line with no end", () => {
    const d = new LogLineDecoder(true, false);
    // A frame that claims 4 GiB: nothing waits for the rest of it.
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(0xffffffff, 4);
    expect(d.push(Buffer.concat([header, Buffer.from("one\ntw")]))).toEqual([
      { stream: "stdout", time: null, text: "one" },
    ]);
    const endless = d.push(Buffer.alloc(3 * MAX_LINE_CHARS, "x"));
    expect(endless.map((l) => l.text.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, MAX_LINE_CHARS]);
    expect(endless[0]!.text.startsWith("twx")).toBe(true);
    expect(d.flush()).toEqual([{ stream: "stdout", time: null, text: "xx" }]);
  });

  it("joins a character whose UTF-8 bytes are split across chunks", () => {
    const bytes = Buffer.from("h\u00e9llo \u{1F600}\n");
    const d = new LogLineDecoder(false, false);
    const lines = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...d.push(bytes.subarray(i, i + 1)));
    expect(lines).toEqual([{ stream: "stdout", time: null, text: "h\u00e9llo \u{1F600}" }]);
  });
});
