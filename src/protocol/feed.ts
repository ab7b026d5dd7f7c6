/**
 * Reading the feed (`GET /api/v1/stream/feed`, docs/protocol.md "Feed"): a response body of frames,
 * each a 4-byte big-endian length and then the same msgpack map the WebSocket carries.
 */
import { decodeFrame, type Frame } from "./frames.ts";

/** Frames larger than this are a broken feed, not a frame to wait for. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** The frames of a feed's body, as they come; ends when the body does. */
export async function* readFeed(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const reader = body.getReader();
  const chunks = async function* () {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  };
  try {
    for await (const bytes of splitFrames(chunks())) yield decodeFrame(bytes);
  } finally {
    // A reader that stops early (break, an error) lets the server know: the body is cancelled.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Splits a byte stream of length-prefixed frames (4 bytes, big-endian, then the frame) into frames:
 * the feed's body, and the control stream of a watch over QUIC. Chunks may come in batches.
 */
export async function* splitFrames(
  source: AsyncIterable<Uint8Array | Uint8Array[]>,
): AsyncGenerator<Uint8Array> {
  let buffered: Uint8Array = new Uint8Array(0);
  for await (const batch of source) {
    for (const chunk of Array.isArray(batch) ? batch : [batch]) {
      buffered = buffered.length === 0 ? chunk : concat(buffered, chunk);
      let at = 0;
      while (buffered.length - at >= 4) {
        const size = new DataView(buffered.buffer, buffered.byteOffset + at, 4).getUint32(0);
        if (size > MAX_FRAME_BYTES) throw new Error(`frame of ${size} bytes: not a GhostPanel stream`);
        if (buffered.length - at - 4 < size) break;
        yield buffered.subarray(at + 4, at + 4 + size);
        at += 4 + size;
      }
      buffered = buffered.subarray(at);
    }
  }
  if (buffered.length > 0) throw new Error("the stream ended in the middle of a frame");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
