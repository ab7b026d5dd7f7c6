/**
 * A tar reader that never holds more than one header: fed the archive as it streams, it reports
 * each entry's header and hands its data on in the chunks it came in (or skips it). Ustar, with
 * the pax (`x`) and GNU long-name (`L`, `K`) extensions the engine and GNU tar write.
 */

export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";

export interface TarEntry {
  /** as the archive names it, with pax or GNU long names applied */
  path: string;
  type: EntryType;
  /** the header's type flag, for messages */
  flag: string;
  size: number;
  mode: number;
  /** unix seconds */
  mtime: number;
  linkname: string;
}

export class TarError extends Error {}

export interface TarHandlers {
  entry(entry: TarEntry): void;
  /** the entry's data, chunk by chunk (views into the chunks pushed: copy to keep) */
  data?(chunk: Uint8Array): void;
  entryEnd?(): void;
}

const BLOCK = 512;
/** pax and long-name records beyond this are not a name: refused rather than held */
const MAX_META = 1024 * 1024;

const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

export class TarReader {
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** data bytes left in the current entry, then padding bytes */
  private dataLeft = 0;
  private padLeft = 0;
  /** collecting a pax or long-name record instead of passing data on */
  private meta: { flag: string; parts: Uint8Array[]; size: number } | undefined;
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private inEntry = false;
  /** the end-of-archive block was seen */
  finished = false;
  entries = 0;

  constructor(private readonly handlers: TarHandlers) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.finished) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - at);
        const part = chunk.subarray(at, at + n);
        if (this.meta) this.meta.parts.push(part.slice());
        else this.handlers.data?.(part);
        this.dataLeft -= n;
        at += n;
        if (this.dataLeft === 0) this.endData();
        continue;
      }
      if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - at);
        this.padLeft -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + n), this.headerFill);
      this.headerFill += n;
      at += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.readHeader();
      }
    }
  }

  /** The archive is over: it must have ended where an archive may. */
  end(): void {
    if (this.finished) return;
    if (this.entries === 0 && this.headerFill === 0 && this.dataLeft === 0)
      throw new TarError("the upload is empty");
    if (this.dataLeft > 0 || this.headerFill > 0 || this.inEntry || this.meta)
      throw new TarError("the archive ends in the middle of an entry (a truncated upload?)");
    // Some writers leave out the end-of-archive blocks; everything before was whole.
    this.finished = true;
  }

  private readHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.finished = true;
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    const stored = octal(h, 148, 8);
    if (stored !== sum)
      throw new TarError(`not a tar archive (a header's checksum is wrong after ${this.entries} entries)`);
    const flag = String.fromCharCode(h[156]!);
    const size = number(h, 124, 12);
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_META) throw new TarError(`a ${flag} record of ${size} bytes is more than a name`);
      this.meta = { flag, parts: [], size };
      this.startData(size);
      return;
    }
    const magic = text(h, 257, 6);
    const prefix = magic.startsWith("ustar") ? text(h, 345, 155) : "";
    const name = text(h, 0, 100);
    const path = this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkname = this.pax.linkpath ?? this.longLink ?? text(h, 157, 100);
    const realSize = this.pax.size !== undefined ? Number(this.pax.size) : size;
    if (!Number.isSafeInteger(realSize) || realSize < 0) throw new TarError(`entry "${path}": bad size`);
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    const type = TYPES[flag] ?? "other";
    // Only files carry data; a hard link's or a directory's size field is not followed by any.
    const dataSize = type === "file" || type === "other" ? realSize : 0;
    this.entries++;
    this.handlers.entry({
      path,
      type,
      flag,
      size: dataSize,
      mode: octal(h, 100, 8),
      mtime: number(h, 136, 12),
      linkname,
    });
    this.inEntry = true;
    this.startData(dataSize);
  }

  private startData(size: number): void {
    this.dataLeft = size;
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.endData();
  }

  private endData(): void {
    const meta = this.meta;
    if (meta) {
      this.meta = undefined;
      const bytes = Buffer.concat(meta.parts);
      if (meta.flag === "x") this.pax = parsePax(bytes);
      else if (meta.flag === "L") this.longName = cString(bytes);
      else if (meta.flag === "K") this.longLink = cString(bytes);
      return;
    }
    this.inEntry = false;
    this.handlers.entryEnd?.();
  }
}

function text(h: Uint8Array, at: number, len: number): string {
  const field = h.subarray(at, at + len);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString("utf8");
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString("utf8");
}

function octal(h: Uint8Array, at: number, len: number): number {
  const s = text(h, at, len).trim();
  return s ? Number.parseInt(s, 8) : 0;
}

/** An octal field, or GNU's base-256 (the high bit set) for sizes over 8 GiB. */
function number(h: Uint8Array, at: number, len: number): number {
  if ((h[at]! & 0x80) === 0) return octal(h, at, len);
  let n = h[at]! & 0x7f;
  for (let i = 1; i < len; i++) n = n * 256 + h[at + i]!;
  return n;
}

/** `<length> <key>=<value>\n` records. */
function parsePax(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(Buffer.from(bytes.subarray(at, space)).toString());
    if (!Number.isInteger(len) || len <= 0 || at + len > bytes.length)
      throw new TarError("a pax header is malformed");
    const record = Buffer.from(bytes.subarray(space + 1, at + len - 1)).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** A tar of one empty directory, made in memory: an image's whole file system. */
export function tarOfDirectory(name: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(BLOCK * 3);
  const h = out.subarray(0, BLOCK);
  const put = (at: number, s: string) => h.set(new TextEncoder().encode(s), at);
  put(0, `${name}/`);
  put(100, "0000755\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, "00000000000\0");
  put(136, "00000000000\0");
  put(156, "5");
  put(257, "ustar\0");
  put(263, "00");
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return out;
}
