import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import {
  adviseInSlices,
  checkPages,
  HAND_BACK_SPACING_MS,
  handBackPages,
  keepHandingBackPages,
  mappingsOf,
  OVER_BASELINE_BYTES,
  type PageWatch,
  rssFileBytes,
  SLICE_BYTES,
  STILL_GROWING_BYTES,
} from "../../src/server/hand-back-pages.ts";

const MiB = 1 << 20;

/** Checks in a row, each 30 s after the one before, from a hand-back at 0; whether each hands back. */
function run(readings: number[], from: PageWatch = { handedBackAt: 0 }): boolean[] {
  let watch = from;
  return readings.map((rss, i) => {
    const checked = checkPages(watch, rss, (i + 1) * 30_000);
    watch = checked.watch;
    return checked.handBack;
  });
}

describe("when pages are handed back again", () => {
  it("takes as the baseline the first reading after a hand-back at which RssFile stopped growing", () => {
    // What the process uses faults back in for minutes after a hand-back (a panel's, measured): no burst.
    const refault = [15.1, 21.2, 22.9, 24.5, 24.8].map((m) => m * MiB);
    expect(run(refault)).toEqual([false, false, false, false, false]);
    let watch: PageWatch = { handedBackAt: 0 };
    for (const [i, rss] of refault.entries()) watch = checkPages(watch, rss, (i + 1) * 30_000).watch;
    expect(watch).toEqual({ handedBackAt: 0, baseline: 24.8 * MiB, previous: 24.8 * MiB });
    // A burst after that is measured from the settled 24.8 MiB, not from the low of 15.1.
    const burst = 24.8 * MiB + OVER_BASELINE_BYTES;
    expect(run([...refault, burst - 4096, burst - 4096])).toEqual(Array(7).fill(false));
    expect(run([...refault, burst, burst])).toEqual([...Array(6).fill(false), true]);
  });

  it("hands back once RssFile is 4 MiB over the baseline and has stopped growing", () => {
    const over = 20 * MiB + OVER_BASELINE_BYTES;
    expect(run([20 * MiB, 20 * MiB, over, over])).toEqual([false, false, false, true]);
    expect(run([20 * MiB, 20 * MiB, over - 4096, over - 4096])).toEqual([false, false, false, false]);
  });

  it("waits while RssFile still grows", () => {
    const over = 20 * MiB + OVER_BASELINE_BYTES;
    const growing = over + STILL_GROWING_BYTES;
    expect(run([20 * MiB, 20 * MiB, over, growing, growing + 4096])).toEqual([
      false,
      false,
      false,
      false,
      true,
    ]);
    // Less than STILL_GROWING_BYTES between two checks is a process faulting back what it uses: stopped.
    expect(run([20 * MiB, 20 * MiB, over, growing - 4096])).toEqual([false, false, false, true]);
  });

  it("hands back at most once every 90 s", () => {
    const over = 30 * MiB;
    const at = (now: number) =>
      checkPages({ handedBackAt: 0, baseline: 20 * MiB, previous: over }, over, now).handBack;
    expect(at(HAND_BACK_SPACING_MS - 1)).toBe(false);
    expect(at(HAND_BACK_SPACING_MS)).toBe(true);
  });

  it("reads RssFile and a file's mappings from /proc's texts", () => {
    expect(rssFileBytes("VmRSS:\t   51200 kB\nRssAnon:\t   20480 kB\nRssFile:\t   30000 kB\n")).toBe(
      30000 * 1024,
    );
    expect(rssFileBytes("Name:\tx\n")).toBe(0);
    const maps = [
      "55d0a0000000-55d0a1000000 r--p 00000000 fd:00 123 /opt/ghostpanel",
      "55d0a1000000-55d0a3000000 r-xp 01000000 fd:00 123 /opt/ghostpanel",
      "55d0a3000000-55d0a3001000 rw-p 00000000 00:00 0 ",
      "7f0000000000-7f0000002000 r--p 00000000 fd:00 456 /opt/ghostpanel.old",
    ].join("\n");
    expect(mappingsOf("/opt/ghostpanel", maps)).toEqual([
      [0x55d0a0000000n, 0x1000000n],
      [0x55d0a1000000n, 0x2000000n],
    ]);
  });
});

describe("a hand-back in slices", () => {
  it("covers every range in slices of 4 MiB, and the event loop turns between two slices", async () => {
    const events: string[] = [];
    const slices: [bigint, bigint][] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      events.push("timer");
      timer = setTimeout(tick, 1);
    };
    timer = setTimeout(tick, 1);
    const slice = BigInt(SLICE_BYTES);
    try {
      const done = await adviseInSlices(
        [
          [0x10000000n, slice * 2n + 4096n],
          [0x20000000n, slice],
        ],
        (from, length) => {
          slices.push([from, length]);
          events.push("slice");
          // Each slice takes longer than the timer's period: a loop that turns lets it fire between them.
          const until = performance.now() + 3;
          while (performance.now() < until);
          return from !== 0x20000000n;
        },
      );
      expect(slices).toEqual([
        [0x10000000n, slice],
        [0x10000000n + slice, slice],
        [0x10000000n + slice * 2n, 4096n],
        [0x20000000n, slice],
      ]);
      expect(done).toBe(SLICE_BYTES * 2 + 4096);
      const between = events.slice(events.indexOf("slice"), events.lastIndexOf("slice"));
      expect(between.filter((e) => e === "timer").length, events.join(" ")).toBeGreaterThanOrEqual(3);
    } finally {
      clearTimeout(timer);
    }
  });
});

describe.runIf(process.platform === "linux")("a real hand-back", () => {
  const dir = mkdtempSync(join(tmpdir(), "gptest-hand-back-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lowers RssFile by the clean pages of a file-backed mapping this process touched", async () => {
    const file = join(dir, "pages.bin");
    const fd = openSync(file, "w");
    const chunk = Buffer.alloc(MiB, 7);
    for (let i = 0; i < 32; i++) writeSync(fd, chunk);
    // Written pages are dirty until on disk, and the kernel will not page out dirty file pages.
    fsyncSync(fd);
    closeSync(fd);
    const mapped = Bun.mmap(file, { shared: false });
    let sum = 0;
    for (let at = 0; at < mapped.length; at += 4096) sum += mapped[at]!;
    expect(sum).toBe((32 * MiB * 7) / 4096);
    const ranges = mappingsOf(file);
    expect(ranges.length).toBeGreaterThan(0);

    const before = rssFileBytes();
    const handed = await handBackPages(ranges);
    const after = rssFileBytes();
    expect(handed).toBe(32 * MiB);
    expect(before - after, `RssFile ${before / MiB} MiB before, ${after / MiB} MiB after`).toBeGreaterThan(
      24 * MiB,
    );
    // Read again, they come back from the file.
    expect(mapped[32 * MiB - 1]).toBe(7);
  });
});

describe("the hand-back's timers", () => {
  afterEach(() => vi.useRealTimers());

  it("are all gone once stopped", () => {
    vi.useFakeTimers();
    const stop = keepHandingBackPages();
    expect(vi.getTimerCount()).toBe(2);
    stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("do not keep a process alive", () => {
    const module = fileURLToPath(new URL("../../src/server/hand-back-pages.ts", import.meta.url));
    const started = Date.now();
    const proc = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `import { keepHandingBackPages } from ${JSON.stringify(module)}; keepHandingBackPages();`,
      ],
      { timeout: 10_000 },
    );
    expect(proc.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
