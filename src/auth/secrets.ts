// Session ids and API tokens are 256-bit random values: a fast hash is enough to store them,
// unlike passwords, which get argon2id (see passwords.ts).
export function newSecret(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + Buffer.from(bytes).toString("base64url");
}

export function hashSecret(secret: string): string {
  return new Bun.CryptoHasher("sha256").update(secret).digest("hex");
}
