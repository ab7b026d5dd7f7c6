import { MAX_DATAGRAM_FRAME } from "../protocol/watch-quic.ts";

/**
 * The agent link's framing (docs/protocol.md §Agent link): a frame is a 4-byte big-endian length
 * and that many bytes of UTF-8 JSON. The control stream is a sequence of frames; a tunnelled call
 * is one frame (the request or answer head) followed by the raw body bytes up to the stream's end.
 */

/** Where the panel takes the agent link's WebSocket (src/agent/routes.ts, dialled by ws-dial.ts). */
export const AGENT_LINK_PATH = "/api/v1/agents/link";

/** The ALPN of the agent link; a new incompatible wire format gets a new one. */
export const AGENT_ALPN = "ghostpanel-agent/1";

/**
 * QUIC flow-control windows, the same on both ends. Bun 1.4.4 applies the wrong one of the two
 * bidirectional stream windows to streams the server opens: with its defaults an agent answering
 * more than ~64 KB on a panel-opened stream gets the whole link closed for a "flow control
 * violation". With both windows equal, either reading of them is right.
 */
export const TRANSPORT_PARAMS = {
  initialMaxStreamDataBidiLocal: 1 << 20,
  initialMaxStreamDataBidiRemote: 1 << 20,
  initialMaxStreamDataUni: 1 << 20,
  initialMaxData: 16 << 20,
  // Each followed answer holds a stream for as long as it flows: the engine's events, logs being
  // watched. QUIC's usual 100 would leave the 101st call waiting for a stream that never frees.
  initialMaxStreamsBidi: 8192,
  // Stats come as datagrams (stats-sender.ts, and `watch`'s on the same listener): without this
  // frame size a peer may send none.
  maxDatagramFrameSize: MAX_DATAGRAM_FRAME,
  // Seconds. Node's default, 10, is one ping interval: a link whose only traffic is its pings
  // every 10 s was ended by whichever side's idle timer ran out first (the pings keep it now, with
  // 20 s of silence ending it as before).
  maxIdleTimeout: 60,
};

/** Heads are small (a path, a few headers): anything larger is a peer speaking something else. */
const MAX_FRAME = 64 * 1024;

export class WireError extends Error {}

export function encodeFrame(value: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  return out;
}

/**
 * Reads frames, then (for a tunnelled call) the rest of the stream as a body, from a QUIC stream's
 * batches of chunks.
 */
export class FrameReader {
  private buffered: Uint8Array = new Uint8Array(0);
  private readonly source: AsyncIterator<Uint8Array[]>;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array[]>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** The next frame, or undefined when the stream ended cleanly between frames. */
  async frame<T = Record<string, unknown>>(): Promise<T | undefined> {
    if (!(await this.fill(4))) {
      if (this.buffered.length) throw new WireError("stream ended inside a frame");
      return undefined;
    }
    const length = new DataView(this.buffered.buffer, this.buffered.byteOffset).getUint32(0);
    if (length > MAX_FRAME) throw new WireError(`frame of ${length} bytes is over the limit`);
    if (!(await this.fill(4 + length))) throw new WireError("stream ended inside a frame");
    const json = this.buffered.subarray(4, 4 + length);
    this.buffered = this.buffered.subarray(4 + length);
    try {
      return JSON.parse(new TextDecoder().decode(json)) as T;
    } catch {
      throw new WireError("frame is not JSON");
    }
  }

  /** Everything after the frames read so far, as it arrives. */
  rest(onCancel: () => void): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (this.buffered.length) {
          controller.enqueue(this.buffered);
          this.buffered = new Uint8Array(0);
          return;
        }
        const chunk = await this.next();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: onCancel,
    });
  }

  private async next(): Promise<Uint8Array | undefined> {
    while (!this.ended) {
      const { done, value } = await this.source.next();
      if (done) {
        this.ended = true;
        return undefined;
      }
      const joined = concat(value);
      if (joined.length) return joined;
    }
    return undefined;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered.length < n) {
      const chunk = await this.next();
      if (chunk === undefined) return false;
      this.buffered = this.buffered.length ? concat([this.buffered, chunk]) : chunk;
    }
    return true;
  }
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** What an agent signs to prove it holds its key: bound to this link's ALPN and the panel's certificate. */
export function proofPayload(nonce: string, panelFingerprint: string): Uint8Array {
  return new TextEncoder().encode(`${AGENT_ALPN}\n${nonce}\n${panelFingerprint}`);
}

/** The head of a tunnelled call, panel → agent. */
export interface RequestHead {
  method: string;
  /** path and query, as the engine API takes them */
  path: string;
  headers: Record<string, string>;
  /** a body follows the head (else the call has none) */
  body?: boolean;
  /**
   * An upgraded call (a shell's or an attach's hijacked connection, src/agent/exec-tunnel.ts): its
   * small request body rides in the head, and after the answer head the stream carries the
   * connection's bytes both ways.
   */
  upgrade?: { body?: string };
}

/** The head of its answer, agent → panel: status 0 when the agent's engine could not be reached. */
export interface AnswerHead {
  status: number;
  headers: [string, string][];
  error?: string;
}

/** A body's chunks as they are read (Bun's ReadableStream typing lacks its async iterator). */
export async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // an early return (the stream was reset) lets go of the source too
    await reader.cancel().catch(() => {});
  }
}
