import type { TlsMaterial } from "./url.ts";

/** TLS client material that cannot work; the message names the field and what is wrong. */
export class TlsMaterialError extends Error {}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/**
 * Checks, before anything is stored, that client material given as PEM text parses: every
 * certificate in `ca` and `cert`, and `key` as an unencrypted private key that belongs to the first
 * certificate of `cert` (the client's own; any others are its chain). An engine given material that
 * fails here would only ever report a TLS error. Loads node:crypto (see src/secrets/vault.ts on why
 * on first use), which parses X.509 and keys synchronously.
 */
export function checkTlsMaterial(tls: TlsMaterial): void {
  const { X509Certificate, createPrivateKey } = process.getBuiltinModule("node:crypto");
  const certificates = (field: string, pem: string) => {
    const blocks = pem.match(CERTIFICATE_BLOCK);
    if (!blocks) throw new TlsMaterialError(`tls.${field}: not PEM (no -----BEGIN CERTIFICATE----- block)`);
    return blocks.map((block, i) => {
      try {
        return new X509Certificate(block);
      } catch (err) {
        throw new TlsMaterialError(
          `tls.${field}: certificate ${i + 1} does not parse (${(err as Error).message})`,
        );
      }
    });
  };
  if (tls.ca !== undefined) certificates("ca", tls.ca);
  const [client] = certificates("cert", tls.cert);
  const block = KEY_BLOCK.exec(tls.key);
  if (!block) throw new TlsMaterialError("tls.key: not PEM (no -----BEGIN … PRIVATE KEY----- block)");
  if (block[1] === "ENCRYPTED PRIVATE KEY")
    throw new TlsMaterialError("tls.key: the key is encrypted; give it without a passphrase");
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(block[0]);
  } catch (err) {
    throw new TlsMaterialError(`tls.key: the private key does not parse (${(err as Error).message})`);
  }
  if (!client!.checkPrivateKey(key))
    throw new TlsMaterialError("tls.key: the private key does not belong to the certificate in tls.cert");
}
