import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineError } from "../engine/errors.ts";
import { checkEntry, Fingerprint } from "./archive-check.ts";
import { collectAsRead } from "./collect-as-read.ts";
import { TarError, TarReader } from "./tar.ts";

export interface Restored {
  files: number;
  directories: number;
  symlinks: number;
  /** bytes of file data written */
  bytes: number;
  /** every file, directory and link of the upload read back from the volume and found equal */
  verified: true;
}

/**
 * A restore the caller got wrong (status 400) or that did not read back equal (502), in words.
 * Its own class and not the API's ApiError: this file also runs on the archive thread, which
 * should not load the HTTP layer; the route's side turns it into one (files.ts).
 */
export class RestoreFailure extends Error {
  constructor(
    readonly status: 400 | 502,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The volume's side of a restore: where a checked tar goes, and the volume's archive to read back. */
export interface VolumeArchive {
  /** Unpacks the tar (a file on disk) into the volume's root; an EngineError when refused. */
  put(tar: Blob): Promise<void>;
  /** The engine's archive of the volume's root, to read to its end. */
  read(): Promise<ReadableStream<Uint8Array>>;
}

/** Gunzips the upload if it is gzip (by its first bytes), counting what comes in against `limit`. */
function decoded(upload: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  const counted = upload.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > limit) throw new TarError(`the upload is over ${limit} bytes`);
        controller.enqueue(chunk);
      },
    }),
  );
  const reader = counted.getReader();
  let decide: Promise<ReadableStream<Uint8Array>> | undefined;
  const start = async () => {
    const first = await reader.read();
    const rest = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          if (!first.done) controller.enqueue(first.value);
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    const gzip = !first.done && first.value[0] === 0x1f && first.value[1] === 0x8b;
    const gunzip = new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
    return gzip ? rest.pipeThrough(gunzip) : rest;
  };
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        decide ??= start();
        inner ??= (await decide).getReader();
        const { done, value } = await inner.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => (inner ? inner.cancel(reason) : reader.cancel(reason)),
    },
    { highWaterMark: 0 },
  );
}

/** Every chunk of `stream` to `each`, collecting as it goes (`every` bytes: collect-as-read.ts). */
async function readAll(
  stream: ReadableStream<Uint8Array>,
  every: number,
  each: (chunk: Uint8Array) => unknown,
) {
  const reader = collectAsRead(stream, every).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    await each(value);
  }
}

/**
 * A .tar.gz (or .tar) upload into a volume, in three steps: the upload is gunzipped, every entry
 * checked (checkEntry) and fingerprinted, and the tar written to a private temporary file; only an
 * upload read whole and found good goes to the engine, so a corrupt, truncated or refused upload
 * leaves the volume as it was; then the volume is read back and every path of the upload must be
 * there with the same bytes. The file is on disk (TMPDIR), never in memory, and removed after.
 */
export async function restoreArchive(
  upload: ReadableStream<Uint8Array>,
  limit: number,
  volume: VolumeArchive,
  collectEvery: number,
): Promise<Restored> {
  const seen = { files: new Set<string>(), links: new Map<string, string>() };
  const sent = new Fingerprint((e) => checkEntry(e, seen));
  const dir = await mkdtemp(join(tmpdir(), "ghostpanel-restore-"));
  try {
    const tarFile = join(dir, "upload.tar");
    const out = await open(tarFile, "wx", 0o600);
    try {
      const tar = new TarReader(sent);
      await readAll(decoded(upload, limit), collectEvery, async (chunk) => {
        tar.push(chunk);
        await out.write(chunk);
      });
      tar.end();
    } catch (err) {
      await upload.cancel().catch(() => {});
      if (err instanceof TarError)
        throw new RestoreFailure(400, "archive_refused", `${err.message} (nothing was restored)`);
      // The temporary file's own failures (a full disk) are the panel's, not the upload's.
      if ((err as NodeJS.ErrnoException)?.syscall) throw err;
      // What is left is the gunzip's: a corrupt or truncated stream.
      throw new RestoreFailure(
        400,
        "bad_archive",
        `the upload is not a valid .tar.gz: ${(err as Error)?.message ?? err} (nothing was restored)`,
      );
    } finally {
      await out.close();
    }
    try {
      await volume.put(Bun.file(tarFile));
    } catch (err) {
      if (err instanceof EngineError && err.status >= 400 && err.status < 600 && err.status !== 404)
        throw new RestoreFailure(400, "archive_refused", `the engine refused the archive: ${err.message}`);
      throw err;
    }
    await rm(tarFile, { force: true });
    const back = new Fingerprint();
    const readBack = new TarReader(back);
    await readAll(await volume.read(), collectEvery, (chunk) => readBack.push(chunk));
    const differ = sent.differences(back);
    if (differ.length)
      throw new RestoreFailure(
        502,
        "restore_differs",
        `restored, but ${differ.length} path(s) read back differ from the upload: ${differ.slice(0, 10).join(", ")}`,
      );
    return {
      files: sent.count("file"),
      directories: sent.count("dir"),
      symlinks: sent.count("symlink"),
      bytes: sent.bytes,
      verified: true,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
