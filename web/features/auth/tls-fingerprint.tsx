import { useEffect, useState } from "preact/hooks";

/**
 * The served certificate's SHA-256, as the server printed it at start: before typing a password,
 * users can compare it with the one their browser shows for this connection.
 */
export function TlsFingerprint() {
  const [fingerprint, setFingerprint] = useState<string | null>(null);
  useEffect(() => {
    fetch("/healthz")
      .then((res) => res.json() as Promise<{ tls: { fingerprint_sha256: string } | null }>)
      .then((health) => setFingerprint(health.tls?.fingerprint_sha256 ?? null))
      // The line is a help to the form, not part of it: without an answer it is left out.
      .catch(() => {});
  }, []);
  if (!fingerprint) return null;
  return <p class="muted mono fingerprint">Certificate SHA-256: {fingerprint}</p>;
}
