import type { QuicSession } from "node:quic";

/**
 * What the agent link's two ends need of a transport: a session of bidirectional byte streams,
 * either side opening them. A QUIC session is one as it is; a WebSocket becomes one through the
 * multiplexer (ws-link.ts). The hub, the tunnel and the agent's call handler know only this.
 */
export interface LinkStream extends AsyncIterable<Uint8Array[]> {
  /** settles once both directions are done; rejects when the stream was reset or the link lost */
  readonly closed: Promise<void>;
  /** for a sequence of small writes (the control stream); mutually exclusive with setBody */
  readonly writer: { write(chunk: Uint8Array): Promise<unknown>; end(): Promise<unknown> };
  /** the outgoing side, pulled only as the peer takes it */
  setBody(body: AsyncIterable<Uint8Array>): void;
  /** ends both directions at once: a reset for the peer when done with an error or early */
  destroy(error?: Error): void;
}

export interface LinkSession {
  readonly closed: Promise<void>;
  onstream: ((stream: LinkStream) => void) | undefined;
  createBidirectionalStream(): Promise<LinkStream>;
  destroy(): void;
}

/** Which transport carries a link: said in logs, never decided on by the code above it. */
export type LinkTransport = "QUIC" | "WebSocket";

/** A QUIC session seen as a link session (its streams have all a link stream needs). */
export function quicLink(session: QuicSession): LinkSession {
  return session as unknown as LinkSession;
}
