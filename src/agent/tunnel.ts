import type { LinkSession } from "./link.ts";
import { type AnswerHead, chunksOf, encodeFrame, FrameReader, type RequestHead } from "./wire.ts";

// Answers that by HTTP's rules have no body: a Response refuses one.
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * One engine call through an agent's link, answered like fetch: a new QUIC stream carries the
 * request head and body, the agent sends back the answer head, then the body as it arrives. The
 * signal (a timeout, a viewer gone) resets the stream, which ends the call on the agent too.
 */
export async function tunnelFetch(session: LinkSession, url: string, init: RequestInit): Promise<Response> {
  const { signal } = init;
  signal?.throwIfAborted();
  const { pathname, search } = new URL(url);
  const method = init.method ?? "GET";
  const head: RequestHead = {
    method,
    path: pathname + search,
    headers: Object.fromEntries(new Headers(init.headers).entries()),
    ...(init.body == null ? {} : { body: true }),
  };
  const stream = await session.createBidirectionalStream();
  stream.closed.catch(() => {});
  const reset = () => stream.destroy(new Error("call abandoned"));
  signal?.addEventListener("abort", reset, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    if (signal) signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  try {
    stream.setBody(request(head, init.body));
    const reader = new FrameReader(stream);
    const answer = await Promise.race([reader.frame<AnswerHead>(), aborted]);
    if (!answer) throw new Error("the agent closed the call without an answer");
    if (answer.status === 0) throw new Error(answer.error ?? "the agent's engine did not answer");
    const done = () => signal?.removeEventListener("abort", reset);
    if (method === "HEAD" || NO_BODY.has(answer.status)) {
      done();
      stream.destroy();
      return new Response(null, { status: answer.status, headers: answer.headers });
    }
    const body = reader.rest(() => {
      done();
      reset();
    });
    stream.closed.then(done, done);
    return new Response(body, { status: answer.status, headers: answer.headers });
  } catch (err) {
    signal?.removeEventListener("abort", reset);
    stream.destroy();
    throw err;
  }
}

/**
 * The request as the stream's body: head and body in one piece when the body is in memory (every
 * call but an upload), so that the request, its end and the stream's opening leave in one packet.
 * A streamed body goes through setBody as a generator: Bun's stream writer refuses a write while
 * its buffer is full rather than waiting, and setBody pulls only as the peer takes it.
 */
function request(head: RequestHead, body: RequestInit["body"]): Uint8Array | AsyncIterable<Uint8Array> {
  if (body instanceof ReadableStream) return streamed(encodeFrame(head), body as ReadableStream<Uint8Array>);
  const framed = encodeFrame(head);
  const bytes = inMemory(body);
  if (!bytes.length) return framed;
  const out = new Uint8Array(framed.length + bytes.length);
  out.set(framed);
  out.set(bytes, framed.length);
  return out;
}

async function* streamed(head: Uint8Array, body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield head;
  yield* chunksOf(body);
}

function inMemory(body: RequestInit["body"]): Uint8Array {
  if (body == null) return new Uint8Array(0);
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new Error("a body of this kind cannot go through an agent");
}
