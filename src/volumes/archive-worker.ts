/**
 * The panel's archive thread (src/volumes/archive-thread.ts starts one and says why): it serves
 * backups (the engine's archive read and gzipped) and restores (an upload checked, written and
 * read back) on a unix socket only the panel can reach, each job once, to the holder of its token.
 */
import type { DirectRequest } from "../engine/engine.ts";
import { answerError, EngineError } from "../engine/errors.ts";
import type { ArchiveJob, FromArchiveThread, ThreadFailure, ToArchiveThread } from "./archive-thread.ts";
import { collectAsRead } from "./collect-as-read.ts";
import { engineGet } from "./engine-get.ts";
import { finallyStream } from "./finally-stream.ts";
import { RestoreFailure, restoreArchive } from "./restore.ts";

declare const self: Worker;

/** As large as the panel's own upload limit: the panel has counted the upload already. */
const MAX_BODY = 64 * 1024 ** 3;

const post = (msg: FromArchiveThread) => self.postMessage(msg);
const jobs = new Map<string, ArchiveJob>();
const released = new Map<string, () => void>();
let server: ReturnType<typeof Bun.serve> | undefined;

self.onmessage = (event: MessageEvent<ToArchiveThread>) => {
  const msg = event.data;
  if (msg.kind === "open") open(msg.socket);
  else if (msg.kind === "job") {
    jobs.set(msg.token, msg.job);
    post({ kind: "accepted", token: msg.token });
  } else if (msg.kind === "forget") jobs.delete(msg.token);
  else if (msg.kind === "idle?") post({ kind: "idle", busy: jobs.size + (server?.pendingRequests ?? 0) });
  else released.get(msg.token)?.();
};

/** The panel's release of a job (its helper removed), asked for once the job's archive has ended. */
function ended(token: string): Promise<void> {
  const done = new Promise<void>((resolve) => {
    released.set(token, () => {
      released.delete(token);
      resolve();
    });
  });
  post({ kind: "ended", token });
  return done;
}

/** fetch of the engine as the panel would make it, its error answers as EngineErrors. */
async function engineFetch(req: DirectRequest, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      redirect: "manual",
      timeout: false,
      ...init,
      ...(req.unix ? { unix: req.unix } : {}),
      ...(req.tls ? { tls: req.tls } : {}),
    } as RequestInit);
  } catch (err) {
    throw new EngineError(0, `engine unreachable: ${(err as Error).message}`);
  }
  if (!res.ok) {
    const text = res.body ? await res.text().catch(() => "") : "";
    throw answerError(res.status >= 400 ? res.status : 502, text, res.statusText);
  }
  return res;
}

/**
 * The engine's archive at `req`, read on a socket of its own (engine-get.ts says why) unless the
 * engine speaks TLS, which fetch reads.
 */
async function archiveOf(req: DirectRequest): Promise<ReadableStream<Uint8Array>> {
  if (!req.tls) return engineGet(req);
  const res = await engineFetch(req);
  if (!res.body) throw new EngineError(502, "the engine sent no archive");
  return res.body;
}

async function backup(token: string, job: Extract<ArchiveJob, { kind: "backup" }>): Promise<Response> {
  let tar: ReadableStream<Uint8Array>;
  try {
    tar = await archiveOf(job.source);
  } catch (err) {
    const e = err as EngineError;
    return new Response(e.message, { status: e.status || 502 });
  }
  const archive = finallyStream(collectAsRead(tar, job.collectEvery), () => ended(token));
  const gzip = new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
  return new Response(archive.pipeThrough(gzip), { headers: { "content-type": "application/gzip" } });
}

async function restore(
  job: Extract<ArchiveJob, { kind: "restore" }>,
  upload: ReadableStream<Uint8Array> | null,
): Promise<Response> {
  try {
    if (!upload) throw new RestoreFailure(400, "invalid_request", "send the .tar.gz as the request body");
    const restored = await restoreArchive(
      upload,
      job.limit,
      {
        async put(tar) {
          const res = await engineFetch(job.put, {
            method: "PUT",
            body: tar,
            // Without this type the engine answers 200 and writes nothing.
            headers: { "content-type": "application/x-tar" },
          });
          await res.arrayBuffer();
        },
        read: () => archiveOf(job.read),
      },
      job.collectEvery,
    );
    return Response.json(restored);
  } catch (err) {
    const failure: ThreadFailure["failure"] =
      err instanceof RestoreFailure
        ? { kind: "restore", status: err.status, code: err.code, message: err.message }
        : err instanceof EngineError
          ? { kind: "engine", status: err.status, code: "", message: err.message }
          : { kind: "other", status: 500, code: "", message: String((err as Error)?.message ?? err) };
    return Response.json({ failure } satisfies ThreadFailure);
  }
}

function open(socket: string): void {
  server = Bun.serve({
    unix: socket,
    maxRequestBodySize: MAX_BODY,
    // A download to a slow client may pause for long; nothing but the panel reaches this socket.
    // (Bun's types leave it out for unix sockets; its server applies it to them all the same.)
    ...({ idleTimeout: 0 } as object),
    fetch(req) {
      const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      const job = jobs.get(token);
      if (!job) return new Response("refused", { status: 403 });
      jobs.delete(token);
      return job.kind === "backup" ? backup(token, job) : restore(job, req.body);
    },
  });
  post({ kind: "ready" });
}
