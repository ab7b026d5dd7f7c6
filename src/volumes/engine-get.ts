/**
 * A GET of the engine over a connection of its own (HTTP/1.1 by hand on `Bun.connect`), its body as
 * a stream: what the archive thread reads a volume's archive with, instead of fetch. Why: fetch's
 * body buffers on the thread were most of what a backup's stream cost it (docs/decisions.md, "Since:
 * the engine's archive on a socket of its own"); here each chunk is the one buffer the socket read
 * into, and the socket is paused while a little is waiting. Plain HTTP only (a unix socket or TCP):
 * a TLS engine is read with fetch.
 */
import type { Socket, SocketHandler } from "bun";
import type { DirectRequest } from "../engine/engine.ts";
import { answerError, EngineError } from "../engine/errors.ts";

/** Unconsumed body bytes at which the socket stops being read (fetch's own pause is at about as much). */
export const HIGH_WATER_BYTES = 256 * 1024;
/** An answer's head, a chunk-size line or a trailer longer than this is not an engine's. */
const MAX_LINE = 64 * 1024;
/** Of an error answer's body, only the message is wanted. */
const MAX_ERROR_BODY = 64 * 1024;

const LF = 10;
const latin1 = new TextDecoder("latin1");

/** How the body's end is known; `push` hands out its bytes and says whether it has ended. */
interface Body {
  push(bytes: Uint8Array, out: (chunk: Uint8Array) => void): boolean;
  /** What is missing when the connection closes now, or undefined if that is the body's end. */
  missing(): string | undefined;
}

class Sized implements Body {
  private got = 0;
  constructor(private readonly length: number) {}
  push(bytes: Uint8Array, out: (chunk: Uint8Array) => void): boolean {
    const take = Math.min(bytes.length, this.length - this.got);
    if (take > 0) out(take === bytes.length ? bytes : bytes.subarray(0, take));
    this.got += take;
    return this.got === this.length;
  }
  missing(): string | undefined {
    return this.got < this.length ? `${this.got} of ${this.length} bytes` : undefined;
  }
}

class UntilClose implements Body {
  push(bytes: Uint8Array, out: (chunk: Uint8Array) => void): boolean {
    if (bytes.length) out(bytes);
    return false;
  }
  missing(): undefined {
    return undefined;
  }
}

/** Transfer-Encoding: chunked, its size lines, data and CRLFs split anywhere across reads. */
class Chunked implements Body {
  private state: "size" | "data" | "after-data" | "trailer" = "size";
  private line = "";
  private left = 0;
  private chunks = 0;

  push(bytes: Uint8Array, out: (chunk: Uint8Array) => void): boolean {
    let at = 0;
    while (at < bytes.length) {
      if (this.state === "data") {
        const take = Math.min(this.left, bytes.length - at);
        out(bytes.subarray(at, at + take));
        at += take;
        this.left -= take;
        if (this.left === 0) this.state = "after-data";
        continue;
      }
      const lf = bytes.indexOf(LF, at);
      this.line += latin1.decode(bytes.subarray(at, lf < 0 ? bytes.length : lf));
      if (this.line.length > MAX_LINE) throw bad("a chunk line too long");
      if (lf < 0) return false;
      at = lf + 1;
      const line = this.line.replace(/\r$/, "");
      this.line = "";
      if (this.state === "after-data") {
        if (line) throw bad("no CRLF after a chunk's data");
        this.state = "size";
      } else if (this.state === "trailer") {
        if (!line) return true;
      } else {
        const hex = line.split(";", 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(hex))
          throw bad(`a chunk size of ${JSON.stringify(hex.slice(0, 20))}`);
        this.left = Number.parseInt(hex, 16);
        this.chunks++;
        this.state = this.left === 0 ? "trailer" : "data";
      }
    }
    return false;
  }

  missing(): string {
    return `the final chunk (after ${this.chunks} chunks)`;
  }
}

const bad = (what: string) => new EngineError(502, `the engine's answer is not valid HTTP: ${what}`);

interface Head {
  status: number;
  statusText: string;
  body: Body;
}

function parseHead(text: string): Head {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (!m) throw bad(`a status line of ${JSON.stringify(statusLine.slice(0, 40))}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(m[1]);
  const encoding = headers.get("transfer-encoding")?.toLowerCase();
  const length = headers.get("content-length");
  let body: Body;
  if (status === 204 || status === 304) body = new Sized(0);
  else if (encoding && encoding !== "identity") {
    // Nothing else was asked for (no TE header): another coding would hand on bytes not the archive's.
    if (encoding !== "chunked") throw bad(`a transfer-encoding of ${encoding}`);
    body = new Chunked();
  } else if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) throw bad(`a content-length of ${JSON.stringify(length.slice(0, 20))}`);
    body = new Sized(Number(length));
  } else body = new UntilClose();
  return { status, statusText: m[2] ?? "", body };
}

/**
 * GET `req` (a plain-http engine: no `tls`), resolved once the engine's answer has begun: a 2xx
 * answer's body as a stream, read from the socket only as fast as the stream is read; any other
 * status an EngineError with the engine's message, as fetch's callers make it. A body that stops
 * before its declared end (its length, its final chunk) fails the stream: a cut archive must never
 * look like a whole one.
 */
export async function engineGet(req: DirectRequest): Promise<ReadableStream<Uint8Array>> {
  const url = new URL(req.url);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let socket: Socket | undefined;
  let paused = false;
  let finished = false;
  let headSoFar: Uint8Array = new Uint8Array(0);
  let head: Head | undefined;
  const errorBody: Uint8Array[] = [];
  let errorBytes = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull() {
        if (!paused) return;
        paused = false;
        socket?.resume();
      },
      cancel() {
        finished = true;
        socket?.terminate();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_BYTES }),
  );
  const answered = Promise.withResolvers<ReadableStream<Uint8Array>>();
  // The engine may refuse before the caller awaits the answer: that is not an unhandled rejection.
  answered.promise.catch(() => {});
  const ok = (h: Head) => h.status >= 200 && h.status < 300;

  const enqueue = (chunk: Uint8Array) => {
    controller.enqueue(chunk);
    if ((controller.desiredSize ?? 0) <= 0 && !paused) {
      paused = true;
      socket?.pause();
    }
  };
  const collectError = (chunk: Uint8Array) => {
    if (errorBytes >= MAX_ERROR_BODY) return;
    errorBody.push(chunk);
    errorBytes += chunk.length;
  };
  const refuse = (h: Head) =>
    answered.reject(
      answerError(h.status >= 400 ? h.status : 502, Buffer.concat(errorBody).toString("utf8"), h.statusText),
    );
  const fail = (err: Error) => {
    if (finished) return;
    finished = true;
    socket?.terminate();
    if (!head) answered.reject(err);
    else if (ok(head)) controller.error(err);
    else refuse(head);
  };
  const complete = (h: Head) => {
    finished = true;
    socket?.end();
    if (ok(h)) controller.close();
    else refuse(h);
  };
  const body = (h: Head, bytes: Uint8Array) => {
    if (h.body.push(bytes, ok(h) ? enqueue : collectError)) complete(h);
  };
  const readHead = (bytes: Uint8Array): void => {
    const all = headSoFar.length ? Buffer.concat([headSoFar, bytes]) : bytes;
    const end = Buffer.from(all.buffer, all.byteOffset, all.byteLength).indexOf("\r\n\r\n");
    if (end < 0) {
      if (all.length > MAX_LINE) throw bad("a head too long");
      headSoFar = all;
      return;
    }
    headSoFar = new Uint8Array(0);
    const h = parseHead(latin1.decode(all.subarray(0, end)));
    const rest = all.subarray(end + 4);
    // An interim answer (1xx) comes before the real one.
    if (h.status < 200) {
      if (rest.length) readHead(rest);
      return;
    }
    head = h;
    if (ok(h)) answered.resolve(stream);
    // Even with nothing after the head: an empty body has ended already.
    body(h, rest);
  };
  const data = (bytes: Uint8Array) => {
    if (finished) return;
    try {
      if (head) body(head, bytes);
      else readHead(bytes);
    } catch (err) {
      fail(err as Error);
    }
  };
  const closed = (err?: Error) => {
    if (finished) return;
    if (!head)
      return fail(new EngineError(0, `engine unreachable: ${err?.message ?? "closed before answering"}`));
    const missing = head.body.missing();
    if (!missing) return complete(head);
    fail(
      new EngineError(
        502,
        `the engine's answer ended early: the connection closed before ${missing}${err ? ` (${err.message})` : ""}`,
      ),
    );
  };

  const handlers: SocketHandler<undefined> = {
    open(s) {
      socket = s;
      s.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    },
    data: (_s, bytes) => data(bytes),
    end: () => closed(),
    close: (_s, err) => closed(err),
    error: (_s, err) => closed(err),
  };
  try {
    // A plain-http engine over TCP, or its unix socket.
    if (req.unix) await Bun.connect({ unix: req.unix, socket: handlers });
    else
      await Bun.connect({
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port) || 80,
        socket: handlers,
      });
  } catch (err) {
    throw new EngineError(0, `engine unreachable: ${(err as Error).message}`);
  }
  return answered.promise;
}
