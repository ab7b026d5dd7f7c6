import { posix } from "node:path";
import type { Engine, OpenAnswer } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { ApiError } from "../http/errors.ts";
import { gzipOnThread, restoreOnThread } from "./archive-thread.ts";
import { COLLECT_EVERY_BYTES, collectAsRead } from "./collect-as-read.ts";
import { finallyStream } from "./finally-stream.ts";
import { archivePath, MOUNT, openHelper } from "./helper.ts";
import { type Restored, RestoreFailure, restoreArchive } from "./restore.ts";
import { type EntryType, TarError, TarReader } from "./tar.ts";

/** A directory lists at most this many entries; reading its archive stops after this many headers or bytes. */
export const MAX_LISTED = 1000;
const MAX_SCANNED = 20_000;
const MAX_SCANNED_BYTES = 256 * 1024 * 1024;

export interface DirEntry {
  name: string;
  type: EntryType;
  size: number;
  /** permission bits */
  mode: number;
  /** unix seconds */
  mtime: number;
  /** a symlink's target */
  link?: string;
}

export interface Listing {
  /** the directory, from the volume's root: "/" or "/a/b" */
  path: string;
  entries: DirEntry[];
  /** not every entry is listed: the directory holds more than could be read */
  capped: boolean;
}

interface PathStat {
  name: string;
  size: number;
  mode: number;
  linkTarget: string;
}

// Go's os.FileMode type bits, as the engine's path stat header carries them.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_TYPE =
  MODE_DIR | (2 ** 30) | (2 ** 29) | MODE_SYMLINK | (2 ** 26) | (2 ** 25) | (2 ** 24) | (2 ** 21) | (2 ** 19);

/** A path inside the volume as the caller names it ("a/b", "/a/b", "a/../b"), cleaned: never above its root. */
export function volumeRelative(given: string): string {
  if (given.includes("\0")) throw new ApiError(400, "invalid_request", "path: no NUL characters");
  return posix.normalize(`/${given}`).replace(/(.)\/+$/, "$1");
}

const notThere = (path: string) =>
  new ApiError(404, "not_found", `no file or directory "${path}" in the volume`);

async function stat(engine: Engine, helper: string, path: string): Promise<PathStat> {
  let res: OpenAnswer;
  try {
    res = await engine.open("HEAD", archivePath(helper, posix.join(MOUNT, path)), {
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) throw notThere(path);
    throw err;
  }
  const header = res.headers.get("x-docker-container-path-stat");
  if (!header) throw new EngineError(502, "the engine sent no stat of the path");
  return JSON.parse(Buffer.from(header, "base64").toString("utf8")) as PathStat;
}

/** The engine's tar of a path in the helper; the stream the caller reads (and must finish or cancel). */
async function archiveOf(engine: Engine, helper: string, path: string, signal?: AbortSignal) {
  const res = await engine.open("GET", archivePath(helper, path), signal ? { signal } : {});
  if (!res.body) throw new EngineError(502, "the engine sent no archive");
  return res.body;
}

/**
 * One directory of a volume, read through the engine's archive of it: headers only, stopping once
 * enough is known (the archive holds the whole tree below, data included, so a large tree is cut
 * short and said to be).
 */
export async function listDirectory(engine: Engine, volume: string, given: string): Promise<Listing> {
  const path = volumeRelative(given);
  const helper = await openHelper(engine, volume, false);
  try {
    const st = await stat(engine, helper.id, path);
    if ((st.mode & MODE_DIR) === 0)
      throw new ApiError(400, "not_a_directory", `"${path}" is not a directory: download it instead`);
    const entries: DirEntry[] = [];
    let capped = false;
    let scannedBytes = 0;
    const stop = new Error("enough");
    const reader = new TarReader({
      entry(e) {
        const name = e.path.replace(/^\.\//, "").replace(/\/$/, "");
        if (name === "" || name === "." || name.includes("/")) return;
        if (entries.length >= MAX_LISTED) {
          capped = true;
          throw stop;
        }
        entries.push({
          name,
          type: e.type,
          size: e.size,
          mode: e.mode & 0o7777,
          mtime: e.mtime,
          ...(e.type === "symlink" ? { link: e.linkname } : {}),
        });
      },
    });
    const stream = await archiveOf(engine, helper.id, `${posix.join(MOUNT, path)}/.`);
    const chunks = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await chunks.read();
        if (done) break;
        scannedBytes += value.length;
        reader.push(value);
        if (reader.finished) break;
        if (reader.entries > MAX_SCANNED || scannedBytes > MAX_SCANNED_BYTES) {
          capped = true;
          break;
        }
      }
    } catch (err) {
      if (err !== stop) throw err instanceof TarError ? new EngineError(502, err.message) : err;
    } finally {
      await chunks.cancel().catch(() => {});
    }
    entries.sort(
      (a, b) => Number(b.type === "dir") - Number(a.type === "dir") || a.name.localeCompare(b.name),
    );
    return { path, entries, capped };
  } finally {
    await helper.remove();
  }
}

/** One regular file of a volume, streamed as it is read; the helper goes when the stream does. */
export async function readFile(
  engine: Engine,
  volume: string,
  given: string,
): Promise<{ name: string; size: number; body: ReadableStream<Uint8Array> }> {
  const path = volumeRelative(given);
  const helper = await openHelper(engine, volume, false);
  try {
    const st = await stat(engine, helper.id, path);
    if ((st.mode & MODE_TYPE) !== 0)
      throw new ApiError(
        400,
        "not_a_file",
        (st.mode & MODE_DIR) !== 0
          ? `"${path}" is a directory: back the volume up to download it all`
          : (st.mode & MODE_SYMLINK) !== 0
            ? `"${path}" is a symlink to "${st.linkTarget}": download what it points to`
            : `"${path}" is not a regular file`,
      );
    const archive = (await archiveOf(engine, helper.id, posix.join(MOUNT, path))).getReader();
    // The file's bytes, out of the archive's one entry, as they arrive.
    const queue: Uint8Array[] = [];
    let size = -1;
    const tar = new TarReader({
      entry(e) {
        if (tar.entries > 1 || e.type !== "file")
          throw new TarError("the engine's archive of one file held something else");
        size = e.size;
      },
      data: (chunk) => queue.push(chunk),
    });
    // Up to the header first, so that the answer can say how long it is.
    while (size < 0) {
      const { done, value } = await archive.read();
      if (done) throw new EngineError(502, "the engine's archive of the file ended before its header");
      tar.push(value);
    }
    const whole = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          while (queue.length === 0) {
            const { done, value } = await archive.read();
            if (done) {
              tar.end();
              controller.close();
              return;
            }
            tar.push(value);
          }
          controller.enqueue(queue.shift()!);
        },
        cancel: (reason) => archive.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return { name: posix.basename(path), size, body: finallyStream(whole, helper.remove) };
  } catch (err) {
    await helper.remove();
    throw err;
  }
}

/**
 * The whole volume as a .tar.gz, compressed as it streams, on a thread of its own when the engine
 * can be reached from one (src/volumes/archive-thread.ts); the helper goes when the stream does, or
 * when `signal` (the client going away) says so.
 */
export async function backup(
  engine: Engine,
  volume: string,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const helper = await openHelper(engine, volume, false);
  try {
    const direct = engine.direct?.(archivePath(helper.id, `${MOUNT}/.`));
    const threaded = direct && (await gzipOnThread(direct, helper.remove, signal));
    if (threaded) return threaded;
    const tar = await archiveOf(engine, helper.id, `${MOUNT}/.`);
    const gzip = new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
    return finallyStream(collectAsRead(tar).pipeThrough(gzip), helper.remove);
  } catch (err) {
    await helper.remove();
    throw err;
  }
}

/**
 * A .tar.gz (or .tar) upload into the volume (restore.ts says how: checked whole before the engine
 * sees it, then read back), on the archive thread when the engine can be reached from one.
 */
export async function restore(
  engine: Engine,
  volume: string,
  upload: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Restored> {
  const helper = await openHelper(engine, volume, true);
  try {
    const put = engine.direct?.(archivePath(helper.id, MOUNT));
    const read = engine.direct?.(archivePath(helper.id, `${MOUNT}/.`));
    const threaded = put && read && (await restoreOnThread(put, read, upload, limit));
    if (threaded) return threaded;
    return await restoreArchive(
      upload,
      limit,
      {
        async put(tar) {
          const res = await engine.open("PUT", archivePath(helper.id, MOUNT), {
            body: tar.stream(),
            // Without this type the engine answers 200 and writes nothing.
            headers: { "content-type": "application/x-tar" },
          });
          await new Response(res.body).arrayBuffer();
        },
        read: () => archiveOf(engine, helper.id, `${MOUNT}/.`),
      },
      COLLECT_EVERY_BYTES,
    );
  } catch (err) {
    throw err instanceof RestoreFailure ? new ApiError(err.status, err.code, err.message) : err;
  } finally {
    await helper.remove();
  }
}
