import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DirectRequest } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";

/** Between a backup and its gzip thread (src/volumes/gzip-worker.ts). */
export type ToGzipThread =
  | { kind: "start"; socket: string; token: string; source: DirectRequest; collectEvery: number }
  | { kind: "released" };
export type FromGzipThread = { kind: "ready" } | { kind: "ended" } | { kind: "stopped" };

/**
 * The thread collects its own small heap this often (why: docs/decisions.md, "A volume backup's
 * memory"); it pauses only that thread, never the panel's requests.
 */
const COLLECT_EVERY_BYTES = 1024 * 1024;
const START_TIMEOUT_MS = 10_000;

/** Beside this file from source; by its path in the repository when compiled (build.ts makes it an entry). */
function workerUrl(): string {
  const compiled = import.meta.url.includes("$bunfs") || Bun.main.includes("$bunfs");
  return compiled ? "./src/volumes/gzip-worker.ts" : new URL("./gzip-worker.ts", import.meta.url).href;
}

/**
 * The engine's archive at `source`, read and gzipped on a thread of its own, as a body to answer
 * with; undefined when the thread could not start (the caller compresses in-process instead).
 *
 * Why a thread: every chunk of a long stream is a new buffer that JSC frees only when it collects,
 * and in the panel's heap that is late (a 256 MiB backup grew its memory by 26–34 MiB) and forcing
 * it costs 30–170 ms of a blocked event loop per collection. On the thread the chunks die in a
 * small heap collected every MiB without holding up the panel; the thread serves the gzip on a
 * unix socket in a private directory (0700, a one-time token), and the panel hands fetch's body of
 * it to its own answer, which Bun streams without a JS chunk on the main thread.
 *
 * `release` runs once the archive is read to its end, has failed or was abandoned, and before the
 * gzip's last bytes go out: a client that has read everything finds the helper gone. `signal`
 * (the client's request going away) releases and stops the thread too.
 */
export async function gzipOnThread(
  source: DirectRequest,
  release: () => Promise<void>,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array> | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "ghostpanel-gzip-"));
  const socket = join(dir, "gzip.sock");
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  let worker: Worker;
  try {
    // smol: every MiB of the thread's heap is resident memory, and it holds only chunks in flight.
    worker = new Worker(workerUrl(), { smol: true } as WorkerOptions);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    console.error(
      `ghostpanel: the backup's gzip thread did not start (${(err as Error).message}); gzipping here`,
    );
    return undefined;
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    worker.terminate();
    rmSync(dir, { recursive: true, force: true });
  };
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    worker.onerror = (e) => {
      clearTimeout(timer);
      console.error(`ghostpanel: the backup's gzip thread failed: ${e.message}`);
      resolve(false);
      close();
    };
    worker.onmessage = (e: MessageEvent<FromGzipThread>) => {
      const msg = e.data;
      if (msg.kind === "ready") {
        clearTimeout(timer);
        resolve(true);
      } else if (msg.kind === "ended")
        void release().then(() => worker.postMessage({ kind: "released" } satisfies ToGzipThread));
      else close();
    };
    const start: ToGzipThread = { kind: "start", socket, token, source, collectEvery: COLLECT_EVERY_BYTES };
    worker.postMessage(start);
  });
  if (!started) {
    close();
    return undefined;
  }
  // The thread first: the engine does not remove a helper while its archive waits to be read.
  signal?.addEventListener(
    "abort",
    () => {
      close();
      void release();
    },
    { once: true },
  );
  try {
    const res = await fetch("http://localhost/", {
      unix: socket,
      headers: { authorization: `Bearer ${token}` },
    } as RequestInit);
    // The thread answers with the engine's own status and message when the engine refused.
    if (!res.ok || !res.body) throw new EngineError(res.ok ? 502 : res.status, await res.text());
    return res.body;
  } catch (err) {
    close();
    throw err instanceof EngineError ? err : new EngineError(502, `the backup's gzip thread: ${err}`);
  }
}
