import type { EngineTarget } from "../engine/url.ts";
import type { LinkStream } from "./link.ts";
import { serveUpgrade } from "./local-upgrade.ts";
import { type AnswerHead, chunksOf, encodeFrame, FrameReader, type RequestHead } from "./wire.ts";

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
  stream.setBody(answer(stream, head, headers, reader, engine, abort));
}

async function* answer(
  stream: LinkStream,
  head: RequestHead,
  headers: [string, string][],
  reader: FrameReader,
  engine: EngineTarget,
  abort: AbortController,
): AsyncGenerator<Uint8Array> {
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
    yield encodeFrame(sent);
    return;
  }
  try {
    const sent: AnswerHead = {
      status: res.status,
      headers: [...res.headers.entries()].filter(([k]) => k !== "transfer-encoding" && k !== "connection"),
    };
    yield encodeFrame(sent);
    if (res.body) yield* chunksOf(res.body);
  } catch {
    // The engine's answer broke off, or the call was abandoned: a reset, not an end, so that the
    // panel never takes half an answer for a whole one.
    setTimeout(() => stream.destroy(new Error("engine answer broke off")), 0);
  } finally {
    // the panel gave up on the call (a viewer left, a timeout): the engine's side ends with it
    abort.abort();
  }
}

function baseUrl(t: EngineTarget): string {
  if (t.socketPath) return "http://localhost";
  return `${t.protocol}://${t.host?.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
}
