import { encodeFrame } from "./frames.ts";
import type { FramePipe, StreamConnection } from "./websocket.ts";

/**
 * A quiet feed gets a `beat` frame this often: Bun ends an HTTP/1.1 response that sends nothing
 * for 10 s (its idleTimeout), proxies do much the same, and the client learns that the link lives.
 */
export const BEAT_MS = 5_000;
const BEAT = encodeFrame("", { k: "beat" });

/** Each frame goes out as its length (4 bytes, big-endian) and then its msgpack bytes. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.byteLength);
  new DataView(out.buffer).setUint32(0, frame.byteLength);
  out.set(frame, 4);
  return out;
}

/**
 * The live stream as one long response body (docs/protocol.md, "Feed"): the transport adapter of
 * a streaming fetch, as the WebSocket's is of a socket, around the same connection. What the
 * server would say in a close frame comes as a last `close` frame, then the body ends.
 */
export function feedResponse(conn: StreamConnection): Response {
  let beat: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let ended = false;
        const pipe: FramePipe = {
          send(frame) {
            if (!ended) controller.enqueue(lengthPrefixed(frame));
          },
          // With a high-water mark of 0, what the response has not handed to the socket yet is the
          // desired size below zero.
          getBufferedAmount: () => Math.max(0, -(controller.desiredSize ?? 0)),
          close(code, reason) {
            if (ended) return;
            pipe.send(encodeFrame("", { k: "close", d: { code, reason } }));
            ended = true;
            clearInterval(beat);
            controller.close();
          },
        };
        // Bun sends a response's headers with its first bytes: a beat now lets the client's fetch
        // resolve even when no topic has anything to say at once.
        pipe.send(BEAT);
        conn.open(pipe);
        beat = setInterval(() => conn.offer(BEAT), BEAT_MS);
      },
      cancel() {
        clearInterval(beat);
        conn.close();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
  );
  return new Response(body, {
    headers: { "Content-Type": "application/vnd.ghostpanel.frames", "Cache-Control": "no-store" },
  });
}
