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
  /**
   * The outgoing side, pulled only as the peer takes it; bytes are all of it, sent with its end at
   * once (a small call's head, or a whole answer: one packet where chunks and an end would be three).
   */
  setBody(body: Uint8Array | AsyncIterable<Uint8Array>): void;
  /** ends both directions at once: a reset for the peer when done with an error or early */
  destroy(error?: Error): void;
}

export interface LinkSession {
  readonly closed: Promise<void>;
  onstream: ((stream: LinkStream) => void) | undefined;
  createBidirectionalStream(): Promise<LinkStream>;
  destroy(): void;
  /**
   * One unreliable message of at most MAX_DATAGRAM bytes, whole or not at all: a QUIC datagram, or
   * a message on the WebSocket fallback. Never waited for, never retried; lost, it is gone.
   */
  sendDatagram(data: Uint8Array): void;
  ondatagram: ((data: Uint8Array) => void) | undefined;
}

/**
 * Under the smallest datagram QUIC lets through (maxDatagramSize is 1150 on loopback with
 * TRANSPORT_PARAMS' frame size; a path with a smaller MTU gives less), so that a datagram sent is
 * never one refused for its size.
 */
export const MAX_DATAGRAM = 1100;

/** Which transport carries a link: said in logs, never decided on by the code above it. */
export type LinkTransport = "QUIC" | "WebSocket";

/**
 * A QUIC session seen as a link session: its streams have all a link stream needs; a datagram it
 * could not send (the session closing, a path MTU below MAX_DATAGRAM) is one more lost datagram.
 */
export function quicLink(session: QuicSession): LinkSession {
  const quic = session as unknown as Omit<LinkSession, "sendDatagram"> & {
    sendDatagram(data: Uint8Array): Promise<unknown>;
  };
  return {
    closed: quic.closed,
    get onstream() {
      return quic.onstream;
    },
    set onstream(handler) {
      quic.onstream = handler;
    },
    get ondatagram() {
      return quic.ondatagram;
    },
    set ondatagram(handler) {
      quic.ondatagram = handler;
    },
    createBidirectionalStream: () => quic.createBidirectionalStream(),
    destroy: () => quic.destroy(),
    sendDatagram: (data) => {
      try {
        quic.sendDatagram(data).catch(() => {});
      } catch {
        // refused at once: lost like any other
      }
    },
  };
}
