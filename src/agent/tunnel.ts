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
 * The request as the stream's body: Bun's stream writer refuses a write while its buffer is full
 * rather than waiting, so bytes go through setBody, which pulls only as the peer takes them.
 */
async function* request(head: RequestHead, body: RequestInit["body"]): AsyncGenerator<Uint8Array> {
  yield encodeFrame(head);
  if (body instanceof ReadableStream) yield* chunksOf(body as ReadableStream<Uint8Array>);
  else if (typeof body === "string") yield new TextEncoder().encode(body);
  else if (body instanceof Uint8Array) yield body;
  else if (body instanceof ArrayBuffer) yield new Uint8Array(body);
  else if (body != null) throw new Error("a body of this kind cannot go through an agent");
}
