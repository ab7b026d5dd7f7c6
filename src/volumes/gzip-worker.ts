/**
 * A backup's gzip thread (src/volumes/gzip-thread.ts starts one per backup and says why): it reads
 * the engine's archive itself, gzips it and serves the result, once, on a unix socket only the
 * panel can reach, to the holder of its token.
 */
import { answerError } from "../engine/errors.ts";
import { collectAsRead } from "./collect-as-read.ts";
import { finallyStream } from "./finally-stream.ts";
import type { FromGzipThread, ToGzipThread } from "./gzip-thread.ts";

declare const self: Worker;

const post = (msg: FromGzipThread) => self.postMessage(msg);
let released: (() => void) | undefined;

self.onmessage = (event: MessageEvent<ToGzipThread>) => {
  const msg = event.data;
  if (msg.kind === "released") released?.();
  else serve(msg);
};

/** The panel's `release` (its helper removed), asked for once the archive has ended one way or another. */
function ended(): Promise<void> {
  const done = new Promise<void>((resolve) => {
    released = resolve;
  });
  post({ kind: "ended" });
  return done;
}

function serve(start: Extract<ToGzipThread, { kind: "start" }>): void {
  let served = false;
  const server = Bun.serve({
    unix: start.socket,
    // A download to a slow client may pause for long; nothing but the panel reaches this socket.
    // (Bun's types leave it out for unix sockets; its server applies it to them all the same.)
    ...({ idleTimeout: 0 } as object),
    async fetch(req) {
      if (served || req.headers.get("authorization") !== `Bearer ${start.token}`)
        return new Response("refused", { status: 403 });
      served = true;
      let res: Response;
      try {
        res = await fetch(start.source.url, {
          redirect: "manual",
          timeout: false,
          ...(start.source.unix ? { unix: start.source.unix } : {}),
          ...(start.source.tls ? { tls: start.source.tls } : {}),
        } as RequestInit);
      } catch (err) {
        return new Response(`engine unreachable: ${(err as Error).message}`, { status: 502 });
      }
      if (!res.ok || !res.body) {
        const text = res.body ? await res.text().catch(() => "") : "the engine sent no archive";
        const status = res.status >= 400 ? res.status : 502;
        return new Response(answerError(status, text, res.statusText).message, { status });
      }
      const archive = finallyStream(collectAsRead(res.body, start.collectEvery), async () => {
        await ended();
        void server.stop().then(() => post({ kind: "stopped" }));
      });
      const gzip = new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
      return new Response(archive.pipeThrough(gzip), { headers: { "content-type": "application/gzip" } });
    },
  });
  post({ kind: "ready" });
}
