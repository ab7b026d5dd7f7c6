import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** A certificate or key that cannot be served, said in words. */
export class CertificateError extends Error {}

export interface TlsFiles {
  cert: string;
  key: string;
  fingerprint: string;
  certPath: string;
  keyPath: string;
}

/**
 * SHA-256 of the certificate's DER bytes, as `AB:CD:…` (what browsers and `openssl x509 -fingerprint
 * -sha256` show). Computed here rather than with node:crypto's X509Certificate, which would load
 * Node's whole crypto module for one hash.
 */
export function fingerprintOf(certPem: string): string {
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(certPem);
  if (!m) throw new Error("not a PEM certificate");
  const der = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  const hex = new Bun.CryptoHasher("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)!.join(":");
}

export function loadTls(certPath: string, keyPath: string): TlsFiles {
  const cert = readPem(certPath, "certificate");
  const key = readPem(keyPath, "key");
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CertificateError(`the certificate file ${certPath} holds no PEM certificate`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new CertificateError(`the key file ${keyPath} holds no PEM private key`);
  }
  return { cert, key, fingerprint: fingerprintOf(cert), certPath, keyPath };
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
};

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    throw new CertificateError(`cannot read the ${what} file ${path}: ${FILE_ERRORS[code ?? ""] ?? message}`);
  }
}

/**
 * Bun checks the pair when a listener starts (BoringSSL, `ERR_OSSL_*` codes): the common case in
 * words, the rest with OpenSSL's own text. Undefined when the error is not about the pair.
 */
export function pairProblem(err: unknown, files: TlsFiles): CertificateError | undefined {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code === "ERR_OSSL_X509_KEY_VALUES_MISMATCH") {
    return new CertificateError(`the key ${files.keyPath} does not match the certificate ${files.certPath}`);
  }
  if (typeof code === "string" && code.startsWith("ERR_OSSL")) {
    return new CertificateError(
      `the certificate ${files.certPath} and key ${files.keyPath} cannot be used (${String(message)})`,
    );
  }
  return undefined;
}

/**
 * `--tls auto`: a self-signed ECDSA P-256 certificate made on first start and kept in the data
 * directory, so its fingerprint stays the same across restarts and users can pin it.
 */
export async function autoTls(dataDir: string): Promise<TlsFiles> {
  const certPath = join(dataDir, "tls-cert.pem");
  const keyPath = join(dataDir, "tls-key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) return loadTls(certPath, keyPath);
  // The X.509 library is needed once per data directory: load it only then. Its dependency
  // injection (tsyringe) wants the Reflect metadata polyfill loaded first.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = new Date();
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=GhostPanel ${hostname()}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 825 * 24 * 3600 * 1000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "dns", value: hostname() },
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trim()}\n-----END PRIVATE KEY-----\n`;
  writeFileSync(keyPath, keyPem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, cert.toString("pem"));
  return loadTls(certPath, keyPath);
}
