/**
 * `ghostpanel watch` over QUIC (docs/protocol.md, "Watch over QUIC"): what the panel and the client
 * agree on. The panel's agent listener takes a second ALPN for it; the client learns where that
 * listener is, and which certificate it presents, from `GET /api/v1/stream/quic`.
 */

/** The ALPN of a watch session on the agent listener; a new incompatible wire format gets a new one. */
export const WATCH_ALPN = "ghostpanel-watch/1";

/**
 * How often the client pings on its control stream. The panel's listener (Bun 1.4.4's node:quic)
 * ends a client's stream that has carried nothing for 60 s, whatever `streamIdleTimeout` says, and
 * the panel takes that end for the client leaving: a control stream silent after its hello lost
 * the whole session at 60 s (#12).
 */
export const WATCH_PING_MS = 15_000;

/** What `GET /api/v1/stream/quic` answers. */
export interface QuicWatchInfo {
  /** host:port of the listener; an empty host means the panel's own host name */
  address: string;
  /** SHA-256 of the certificate the listener presents, `AB:CD:…`: the client pins it */
  fingerprint: string;
}

/**
 * QUIC's DATAGRAM frames are allowed up to this (the transport parameter); what one datagram can
 * carry is smaller (the session's maxDatagramSize, ~1150 bytes on a 1200-byte path).
 */
export const MAX_DATAGRAM_FRAME = 1200;
