/**
 * A join token, as the admin copies it to the edge box: the one-time secret, plus what the agent
 * needs to find and trust the panel (its QUIC address and certificate fingerprint), so that a
 * token is all it takes. The panel keeps only the secret's hash.
 */
export interface JoinToken {
  secret: string;
  /** SHA-256 of the panel's certificate, `AB:CD:…`: the only certificate the agent accepts */
  fingerprint: string;
  /** host:port of the panel's agent listener (UDP) */
  address: string;
}

const PREFIX = "gpj1.";

export class JoinTokenError extends Error {}

export function encodeJoinToken(t: JoinToken): string {
  return (
    PREFIX +
    Buffer.from(JSON.stringify({ s: t.secret, f: t.fingerprint, a: t.address })).toString("base64url")
  );
}

export function decodeJoinToken(text: string): JoinToken {
  const bad = new JoinTokenError("--join: not a GhostPanel join token (it starts with gpj1.)");
  if (!text.startsWith(PREFIX)) throw bad;
  let raw: { s?: unknown; f?: unknown; a?: unknown };
  try {
    raw = JSON.parse(Buffer.from(text.slice(PREFIX.length), "base64url").toString("utf8"));
  } catch {
    throw bad;
  }
  const { s, f, a } = raw;
  if (typeof s !== "string" || typeof f !== "string" || typeof a !== "string") throw bad;
  if (!/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(f))
    throw new JoinTokenError("--join: the token's fingerprint is malformed");
  return { secret: s, fingerprint: f, address: a };
}
