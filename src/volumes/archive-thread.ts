import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DirectRequest } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { type Restored, RestoreFailure } from "./restore.ts";

/** What the archive thread (src/volumes/archive-worker.ts) does for one request to its socket. */
export type ArchiveJob =
  | { kind: "backup"; source: DirectRequest; collectEvery: number }
  | { kind: "restore"; put: DirectRequest; read: DirectRequest; limit: number; collectEvery: number };
export type ToArchiveThread =
  | { kind: "open"; socket: string }
  | { kind: "job"; token: string; job: ArchiveJob }
  | { kind: "released"; token: string }
  | { kind: "forget"; token: string }
  | { kind: "idle?" };
export type FromArchiveThread =
  | { kind: "ready" }
  | { kind: "accepted"; token: string }
  | { kind: "ended"; token: string }
  /** jobs waiting for their request, and requests the thread is still answering */
  | { kind: "idle"; busy: number };
/** A restore's answer on the socket when it failed: the failure, to be thrown again here. */
export interface ThreadFailure {
  failure: { kind: "restore" | "engine" | "other"; status: number; code: string; message: string };
}

/**
 * The thread collects its own small heap this often (why: docs/decisions.md, "A volume backup's
 * memory"); it pauses only that thread, never the panel's requests.
 */
const COLLECT_EVERY_BYTES = 1024 * 1024;
const START_TIMEOUT_MS = 10_000;
/**
 * A thread that has had no job for this long ends, and part of its memory goes back with it (~3 MiB, kept
 * for the panel's life before: docs/decisions.md); the next backup or restore starts another.
 * GHOSTPANEL_ARCHIVE_IDLE_MS sets it (the tests' short wait; nothing else reads it).
 */
const IDLE_MS = Number(process.env.GHOSTPANEL_ARCHIVE_IDLE_MS) || 60_000;

/** Beside this file from source; by its path in the repository when compiled (build.ts makes it an entry). */
function workerUrl(): string {
  const compiled = import.meta.url.includes("$bunfs") || Bun.main.includes("$bunfs");
  return compiled ? "./src/volumes/archive-worker.ts" : new URL("./archive-worker.ts", import.meta.url).href;
}

interface ArchiveThread {
  socket: string;
  post(msg: ToArchiveThread): void;
  /** per job token: what runs once its archive has ended (the helper's removal) */
  releases: Map<string, () => Promise<void>>;
  /** per job token: the thread has the job (a message may arrive after the request it is for) */
  accepted: Map<string, () => void>;
  /** a job is being handed to the thread: its idle wait starts again */
  busy(): void;
  close(): void;
}

let current: Promise<ArchiveThread | undefined> | undefined;

/**
 * The one archive thread, started by a backup or restore and kept for the next ones until it has
 * been idle for IDLE_MS: a thread's start (its heap, its server, the modules it loads) is a few MiB
 * that each backup in a row would otherwise pay again (docs/decisions.md). Undefined when it cannot
 * start (the caller works in-process instead); a thread that failed or ended is replaced by the
 * next call.
 */
function archiveThread(): Promise<ArchiveThread | undefined> {
  current ??= startThread().then((thread) => {
    if (!thread) current = undefined;
    return thread;
  });
  return current;
}

async function startThread(): Promise<ArchiveThread | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "ghostpanel-gzip-"));
  const socket = join(dir, "archive.sock");
  let worker: Worker;
  try {
    // smol: every MiB of the thread's heap is resident memory, and it holds only chunks in flight.
    worker = new Worker(workerUrl(), { smol: true } as WorkerOptions);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`ghostpanel: the archive thread did not start (${(err as Error).message}); working here`);
    return undefined;
  }
  // It must not keep a panel that is stopping alive; its socket's directory goes with the process.
  (worker as unknown as { unref(): void }).unref();
  const releases = new Map<string, () => Promise<void>>();
  const accepted = new Map<string, () => void>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.off("exit", close);
    clearTimeout(idleTimer);
    if (current && thread) current = undefined;
    worker.terminate();
    rmSync(dir, { recursive: true, force: true });
    for (const release of releases.values()) void release();
    releases.clear();
    // A request waiting for its job to be taken goes on, and finds the socket gone.
    for (const go of accepted.values()) go();
    accepted.clear();
  };
  process.on("exit", close);
  const post = (msg: ToArchiveThread) => worker.postMessage(msg);
  // Jobs handed over since the thread was last asked whether it is idle: its answer is stale if any.
  let handed = 0;
  let idleTimer: Timer | undefined;
  const busy = () => {
    handed++;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      handed = 0;
      post({ kind: "idle?" });
    }, IDLE_MS);
    idleTimer.unref();
  };
  let thread: ArchiveThread | undefined;
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    worker.onerror = (e) => {
      clearTimeout(timer);
      console.error(`ghostpanel: the archive thread failed: ${e.message}`);
      resolve(false);
      close();
    };
    worker.onmessage = (e: MessageEvent<FromArchiveThread>) => {
      const msg = e.data;
      if (msg.kind === "ready") {
        clearTimeout(timer);
        resolve(true);
        return;
      }
      if (msg.kind === "idle") {
        if (msg.busy === 0 && handed === 0) close();
        else if (handed === 0) busy();
        return;
      }
      if (msg.kind === "accepted") {
        accepted.get(msg.token)?.();
        accepted.delete(msg.token);
        return;
      }
      const release = releases.get(msg.token);
      releases.delete(msg.token);
      void (release ?? (async () => {}))().then(() => post({ kind: "released", token: msg.token }));
    };
    post({ kind: "open", socket });
  });
  if (!started) {
    close();
    return undefined;
  }
  thread = { socket, post, releases, accepted, busy, close };
  busy();
  return thread;
}

/** Stops the archive thread, if one runs, and removes its socket (the panel is stopping). */
export async function stopArchiveThread(): Promise<void> {
  const thread = await current;
  thread?.close();
}

/**
 * Hands `job` to the thread and makes its one request for it: the job is registered by message
 * (only this process can post one) under a one-time token, which the request must carry.
 */
async function request(
  thread: ArchiveThread,
  job: ArchiveJob,
  init: RequestInit,
  release?: () => Promise<void>,
): Promise<Response> {
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  thread.busy();
  if (release) thread.releases.set(token, release);
  try {
    await new Promise<void>((resolve) => {
      thread.accepted.set(token, resolve);
      thread.post({ kind: "job", token, job });
    });
    const res = await fetch("http://localhost/", {
      ...init,
      unix: thread.socket,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
    } as RequestInit);
    // A job refused before it began has nothing to release (the caller removes its helper).
    if (!res.ok) thread.releases.delete(token);
    return res;
  } catch (err) {
    thread.post({ kind: "forget", token });
    thread.releases.delete(token);
    throw err;
  }
}

/**
 * The engine's archive at `source`, read and gzipped on the archive thread, as a body to answer
 * with; undefined when the thread could not start (the caller compresses in-process instead).
 *
 * Why a thread: every chunk of a long stream is a new buffer that JSC frees only when it collects,
 * and in the panel's heap that is late (a 256 MiB backup grew its memory by 26–34 MiB) and forcing
 * it costs 30–170 ms of a blocked event loop per collection. On the thread the chunks die in a
 * small heap collected every MiB without holding up the panel; the thread serves the gzip on a
 * unix socket in a private directory (0700, a one-time token per job), and the panel hands fetch's
 * body of it to its own answer, which Bun streams without a JS chunk on the main thread.
 *
 * `release` runs once the archive is read to its end, has failed or was abandoned, and before the
 * gzip's last bytes go out: a client that has read everything finds the helper gone. `signal`
 * (the client's request going away) releases and stops the job too.
 */
export async function gzipOnThread(
  source: DirectRequest,
  release: () => Promise<void>,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array> | undefined> {
  const thread = await archiveThread();
  if (!thread) return undefined;
  let res: Response;
  try {
    res = await request(
      thread,
      { kind: "backup", source, collectEvery: COLLECT_EVERY_BYTES },
      signal ? { signal } : {},
      release,
    );
  } catch (err) {
    throw new EngineError(502, `the backup's archive thread: ${err}`);
  }
  // Dropping the socket's answer cancels the job's stream there, which ends it (and so releases).
  signal?.addEventListener("abort", () => void release(), { once: true });
  // The thread answers with the engine's own status and message when the engine refused.
  if (!res.ok || !res.body) throw new EngineError(res.ok ? 502 : res.status, await res.text());
  return res.body;
}

/**
 * A restore of `upload` (restore.ts says how) run on the archive thread: the upload's bytes go to
 * it through its socket, its gunzip, checks, temporary file and read-back run there, so the
 * panel's event loop and heap see only the upload passing. Undefined when the thread could not
 * start (the caller restores in-process instead).
 */
export async function restoreOnThread(
  put: DirectRequest,
  read: DirectRequest,
  upload: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Restored | undefined> {
  const thread = await archiveThread();
  if (!thread) return undefined;
  const res = await request(
    thread,
    { kind: "restore", put, read, limit, collectEvery: COLLECT_EVERY_BYTES },
    { method: "POST", body: upload, duplex: "half" } as RequestInit,
  );
  const answer = (await res.json()) as Restored | ThreadFailure;
  if (!("failure" in answer)) return answer;
  const { kind, status, code, message } = answer.failure;
  if (kind === "restore") throw new RestoreFailure(status as 400 | 502, code, message);
  if (kind === "engine") throw new EngineError(status, message);
  throw new Error(`the restore's archive thread: ${message}`);
}
