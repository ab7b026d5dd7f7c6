// Apart from the codec, so that the server, which encodes with msgpackr's Packr, need not load the decoder.
/** Close codes the server ends a stream with (docs/protocol.md, "Close codes"). */
export const CLOSE = {
  /** The session or token that opened the stream is gone: reconnecting as is cannot help. */
  SESSION_ENDED: 4401,
  /** The user's role changed: reconnect to get its rights. */
  ROLE_CHANGED: 4403,
  /** The client left too much unread. */
  TOO_SLOW: 1013,
  /** The client sent a text message. */
  NOT_BINARY: 1003,
  /** The server could not check the credentials again. */
  CHECK_FAILED: 1011,
} as const;
