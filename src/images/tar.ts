/** One file of a tar made in memory: a name of at most 100 bytes (no ustar prefix needed). */
export interface TarFile {
  name: string;
  data: Uint8Array;
}

const BLOCK = 512;

/**
 * A ustar archive of regular files (mode 0644, owned by root, stamped now), for the small build
 * contexts the panel makes from a pasted Dockerfile: header, data padded to 512 bytes, two empty
 * blocks to end it.
 */
export function tarOf(files: readonly TarFile[]): Uint8Array<ArrayBuffer> {
  const size = files.reduce((n, f) => n + BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK, 2 * BLOCK);
  const tar = new Uint8Array(size);
  const now = Math.floor(Date.now() / 1000);
  let at = 0;
  for (const f of files) {
    tar.set(header(f.name, f.data.length, now), at);
    tar.set(f.data, at + BLOCK);
    at += BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK;
  }
  return tar;
}

function header(name: string, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const encoded = new TextEncoder().encode(name);
  if (encoded.length > 100) throw new Error(`a tar name of at most 100 bytes: ${name}`);
  const put = (bytes: Uint8Array | string, offset: number) =>
    h.set(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes, offset);
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`;
  put(encoded, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  const sum = h.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}
