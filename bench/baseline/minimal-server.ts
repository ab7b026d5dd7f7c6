// The baseline for the RSS and start-up benchmarks: the smallest useful compiled Bun server.
// bench/run.ts compiles it with `bun build --compile` into a temp dir. Usage: minimal-server PORT
// [CERT_DIR]: with CERT_DIR, HTTPS with its tls-cert.pem and tls-key.pem (the start-up group's TLS row).
import { readFileSync } from "node:fs";

const port = Number(process.argv[2] ?? 0);
const certDir = process.argv[3];
Bun.serve({
  hostname: "127.0.0.1",
  port,
  ...(certDir
    ? {
        tls: {
          cert: readFileSync(`${certDir}/tls-cert.pem`, "utf8"),
          key: readFileSync(`${certDir}/tls-key.pem`, "utf8"),
        },
      }
    : {}),
  fetch() {
    return new Response("ok");
  },
});
