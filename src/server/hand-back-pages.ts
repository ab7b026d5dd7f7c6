import { readFileSync, readlinkSync } from "node:fs";

/** Linux 5.4's MADV_PAGEOUT: reclaim these pages now; a later use faults them back in from the file. */
const MADV_PAGEOUT = 21;

/** How long after the listener opens the start is taken to be over: engines synced, first stats ticks read. */
export const START_OVER_MS = 15_000;

/**
 * Once, when the start is over, hands the executable's pages back to the kernel. Start-up runs
 * code that does not run again (the module loader, every schema being built, migrations, the
 * certificate, each engine's first sync, the JIT compiling all of that): ~15 MB of the
 * executable's 114 MB stay resident after it, in a panel whose working set of code is about half
 * of what it touched (docs/decisions.md, #14). Whatever the panel goes on using comes back on its
 * first use, from the page cache or the disk; what it never uses again stops counting against a
 * small box's memory now rather than when the kernel runs short. Once only: trimming the working
 * set again and again would only buy faults.
 *
 * Every mapping of the executable, the writable ones too (the embedded bundle's section, ~5 MB
 * touched): the kernel takes back only clean pages, which it can read again from the file; pages
 * the process wrote are its own anonymous memory and stay (there is no swap to put them in). Any
 * failure (not Linux, a libc that is not glibc's, a kernel older than 5.4) leaves things as they
 * were: it only costs memory. Returns the bytes handed back.
 */
export async function releaseStartPages(): Promise<number> {
  if (process.platform !== "linux") return 0;
  try {
    const exe = readlinkSync("/proc/self/exe");
    const ranges: [bigint, bigint][] = [];
    for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
      const [range, , , , , path] = line.split(/\s+/);
      if (path !== exe || !range) continue;
      const [from, to] = range.split("-").map((x) => BigInt(`0x${x}`)) as [bigint, bigint];
      ranges.push([from, to - from]);
    }
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    });
    let released = 0;
    try {
      for (const [from, length] of ranges)
        if (libc.symbols.madvise(from, length, MADV_PAGEOUT) === 0) released += Number(length);
    } finally {
      libc.close();
    }
    return released;
  } catch {
    return 0;
  }
}
