import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

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
  const cert = readFileSync(certPath, "utf8");
  const key = readFileSync(keyPath, "utf8");
  return { cert, key, fingerprint: fingerprintOf(cert), certPath, keyPath };
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
