/** Tar archives written by hand, for tests that need ones no honest tool would make. */

export interface TestEntry {
  name: string;
  /** "0" file, "1" hard link, "2" symlink, "3" char device, "4" block device, "5" directory, "6" fifo */
  type?: string;
  data?: Uint8Array | string;
  linkname?: string;
  mode?: number;
  devmajor?: number;
  devminor?: number;
}

function header(e: TestEntry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, s: string) => h.set(new TextEncoder().encode(s), at);
  const oct = (n: number, len: number) => `${n.toString(8).padStart(len - 1, "0")}\0`;
  put(0, e.name);
  put(100, oct(e.mode ?? (e.type === "5" ? 0o755 : 0o644), 8));
  put(108, oct(0, 8));
  put(116, oct(0, 8));
  put(124, oct(size, 12));
  put(136, oct(Math.floor(Date.now() / 1000), 12));
  put(156, e.type ?? "0");
  put(157, e.linkname ?? "");
  put(257, "ustar\0");
  put(263, "00");
  put(329, oct(e.devmajor ?? 0, 8));
  put(337, oct(e.devminor ?? 0, 8));
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** A whole archive: the entries, then the two zero blocks that end it. */
export function tarOf(entries: TestEntry[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? new TextEncoder().encode(e.data) : (e.data ?? new Uint8Array());
    parts.push(header(e, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(parts));
}
