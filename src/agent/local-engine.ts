import type { EngineTarget } from "../engine/url.ts";
import type { LinkStream } from "./link.ts";
import { serveUpgrade } from "./local-upgrade.ts";
import { type AnswerHead, concat, encodeFrame, FrameReader, type RequestHead } from "./wire.ts";

// Per connection, not per call: the tunnel carries the call, Bun the bytes to the engine.
const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

/**
 * The agent's end of one tunnelled call: the request the panel sent on this stream, made to the
 * local engine as it is (the panel chose the path, its API version and body), and the engine's
 * answer sent back as it arrives. The panel resetting the stream ends the call at the engine.
 */
export async function serveCall(stream: LinkStream, engine: EngineTarget): Promise<void> {
  const reader = new FrameReader(stream);
  let head: RequestHead | undefined;
  try {
    head = await reader.frame<RequestHead>();
  } catch {
    head = undefined;
  }
  if (
    !head ||
    typeof head.path !== "string" ||
    !head.path.startsWith("/") ||
    typeof head.method !== "string"
  ) {
    stream.destroy();
    return;
  }
  const headers = Object.entries(head.headers ?? {}).filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()));
  // A request node:http refuses (a header it cannot send) resets the call, as a broken answer does.
  if (head.upgrade) return serveUpgrade(stream, head, headers, reader, engine).catch(() => stream.destroy());
  const abort = new AbortController();
  stream.closed.catch(() => abort.abort());
  void answer(stream, head, headers, reader, engine, abort);
}

/** Answers are sent whole when they are whole by then: over this, they go as they come. */
const WHOLE_MAX = 256 * 1024;

async function answer(
  stream: LinkStream,
  head: RequestHead,
  headers: [string, string][],
  reader: FrameReader,
  engine: EngineTarget,
  abort: AbortController,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(baseUrl(engine) + head.path, {
      method: head.method,
      headers,
      body: head.body ? reader.rest(() => {}) : undefined,
      signal: abort.signal,
      redirect: "manual",
      // no idle timeout: an event stream is quiet while nothing happens
      timeout: false,
      ...(head.body ? { duplex: "half" } : {}),
      ...(engine.socketPath ? { unix: engine.socketPath } : {}),
    } as RequestInit);
  } catch (err) {
    const sent: AnswerHead = {
      status: 0,
      headers: [],
      error: `engine unreachable: ${(err as Error).message}`,
    };
    send(stream, encodeFrame(sent), abort);
    return;
  }
  const sent: AnswerHead = {
    status: res.status,
    headers: [...res.headers.entries()].filter(([k]) => k !== "transfer-encoding" && k !== "connection"),
  };
  const body = res.body?.getReader();
  const ready = body ? await arrived(body) : { chunks: [], next: undefined };
  if (ready.error) {
    // The engine's answer broke off: a reset, so that the panel never takes half an answer for a whole one.
    stream.destroy(new Error("engine answer broke off"));
    return;
  }
  const first = concat([encodeFrame(sent), ...ready.chunks]);
  if (body && ready.next) send(stream, rest(stream, first, body, ready.next, abort), abort);
  else {
    abort.abort();
    send(stream, first, abort);
  }
}

/** The panel may have reset the stream while the engine answered: then nobody takes the answer. */
function send(
  stream: LinkStream,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  abort: AbortController,
): void {
  try {
    stream.setBody(body);
  } catch {
    abort.abort();
    stream.destroy();
  }
}

/**
 * What of the body the engine has sent already: reads that settle before the event loop turns
 * (bytes that came with the head) are taken, the first that does not is left pending, for a body
 * that streams (events, a followed log). `next` undefined: the body has ended.
 */
async function arrived(
  body: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ chunks: Uint8Array[]; next?: Pending; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let next = body.read();
  try {
    for (;;) {
      const read = await Promise.race([next, turn()]);
      if (read === LATER) return { chunks, next };
      if (read.done) return { chunks };
      chunks.push(read.value);
      size += read.value.length;
      next = body.read();
      if (size > WHOLE_MAX) return { chunks, next };
    }
  } catch (error) {
    return { chunks, error };
  }
}

type Pending = ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>;
const LATER = Symbol("later");
const turn = () => new Promise<typeof LATER>((resolve) => setImmediate(() => resolve(LATER)));

async function* rest(
  stream: LinkStream,
  first: Uint8Array,
  body: ReadableStreamDefaultReader<Uint8Array>,
  next: Pending,
  abort: AbortController,
): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    for (let read = await next; !read.done; read = await body.read()) yield read.value;
  } catch {
    // The engine's answer broke off, or the call was abandoned: a reset, not an end, so that the
    // panel never takes half an answer for a whole one.
    setTimeout(() => stream.destroy(new Error("engine answer broke off")), 0);
  } finally {
    // the panel gave up on the call (a viewer left, a timeout): the engine's side ends with it
    abort.abort();
    await body.cancel().catch(() => {});
  }
}

function baseUrl(t: EngineTarget): string {
  if (t.socketPath) return "http://localhost";
  return `${t.protocol}://${t.host?.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
}
