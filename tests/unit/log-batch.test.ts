import { describe, expect, it } from "vitest";
import { LineBatcher } from "../../src/containers/log-batcher.ts";
import type { LogLine } from "../../src/engine/log-lines.ts";
import { linesOf, microsToEngineTime, packLines, toMicros } from "../../src/protocol/log-batch.ts";
import { encodeFrame } from "../../src/stream/frames.ts";

const at = (us: number) => {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, "0")}123Z`;
};

describe("log batches", () => {
  it("keep each line's text, stream and time to the microsecond, in order", () => {
    const base = Date.UTC(2026, 11, 2, 3, 4, 5) * 1000 + 123_456;
    const lines: LogLine[] = [
      { stream: "stdout", time: at(base), text: "first" },
      { stream: "stderr", time: at(base + 7), text: "oops \u001b[31mred\u001b[0m" },
      { stream: "stdout", time: null, text: "a long line's next piece" },
      { stream: "stdout", time: at(base + 1_000_000), text: "" },
      { stream: "stderr", time: at(base + 999), text: "older: stdout and stderr are copied apart" },
    ];
    const batch = packLines(lines);
    expect(batch.e).toEqual([1, 4]);
    expect(linesOf(batch)).toEqual([
      { text: "first", us: base, stderr: false },
      { text: "oops \u001b[31mred\u001b[0m", us: base + 7, stderr: true },
      { text: "a long line's next piece", us: base + 7, stderr: false },
      { text: "", us: base + 1_000_000, stderr: false },
      { text: "older: stdout and stderr are copied apart", us: base + 999, stderr: true },
    ]);
    expect(packLines([{ stream: "stdout", time: null, text: "x" }])).toEqual({ t: 0, d: [0], x: ["x"] });
  });

  it("read the engine's times with any offset, and write bounds the engine takes", () => {
    expect(toMicros("2026-12-02T03:04:05.123456789Z")).toBe(Date.UTC(2026, 11, 2, 3, 4, 5) * 1000 + 123_456);
    expect(toMicros("2026-12-02T05:04:05.5+02:00")).toBe(Date.UTC(2026, 11, 2, 3, 4, 5) * 1000 + 500_000);
    expect(toMicros("2026-12-02T03:04:05Z")).toBe(Date.UTC(2026, 11, 2, 3, 4, 5) * 1000);
    expect(toMicros("yesterday")).toBe(0);
    expect(toMicros(null)).toBe(0);
    expect(microsToEngineTime(1_700_000_000_000_042)).toBe("1700000000.000042000");
    expect(microsToEngineTime(1_700_000_000_000_042, true)).toBe("1700000000.000042999");
  });

  it("cost a few bytes per line beyond its text, where a line per frame costs over a hundred", () => {
    const topic = `logs:local:${"a".repeat(64)}`;
    const start = Date.UTC(2026, 11, 2) * 1000;
    const lines: LogLine[] = Array.from({ length: 500 }, (_, i) => ({
      stream: i % 10 === 0 ? "stderr" : "stdout",
      time: at(start + i * 97),
      text: `request ${i} served in 3ms`,
    }));
    const text = lines.reduce((n, l) => n + l.text.length, 0);
    const batched = encodeFrame(topic, { k: "lines", d: packLines(lines) }).length;
    const single = lines.reduce((n, l) => n + encodeFrame(topic, { k: "lines", d: [l] }).length, 0);
    expect((batched - text) / lines.length).toBeLessThan(6);
    expect((single - text) / lines.length).toBeGreaterThan(100);
  });
});

describe("LineBatcher", () => {
  const line = (text: string): LogLine => ({ stream: "stdout", time: null, text });

  it("sends lines together once the first has waited its time", async () => {
    const sent: string[][] = [];
    const b = new LineBatcher((l) => sent.push(l.map((x) => x.text)), { ms: 30, lines: 100, chars: 1000 });
    b.push([line("a")]);
    b.push([line("b"), line("c")]);
    expect(sent).toEqual([]);
    await Bun.sleep(60);
    expect(sent).toEqual([["a", "b", "c"]]);
    b.push([line("d")]);
    b.flush();
    expect(sent).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("sends at once at its bounds of lines and characters, and drops what waits when stopped", async () => {
    const sent: number[] = [];
    const b = new LineBatcher((l) => sent.push(l.length), { ms: 20, lines: 3, chars: 10 });
    b.push([line("1"), line("2"), line("3"), line("4")]);
    expect(sent).toEqual([3]);
    b.push([line("0123456789")]);
    expect(sent).toEqual([3, 2]);
    b.push([line("late")]);
    b.stop();
    await Bun.sleep(40);
    expect(sent).toEqual([3, 2]);
  });
});
