/**
 * `ghostpanel watch` over QUIC (docs/protocol.md, "Watch over QUIC"): what the panel and the client
 * agree on. The panel's agent listener takes a second ALPN for it; the client learns where that
 * listener is, and which certificate it presents, from `GET /api/v1/stream/quic`.
 */

/** The ALPN of a watch session on the agent listener; a new incompatible wire format gets a new one. */
export const WATCH_ALPN = "ghostpanel-watch/1";

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
