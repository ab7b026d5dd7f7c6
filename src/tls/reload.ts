import type { Server } from "bun";
import { loadTls, pairProblem, type TlsFiles } from "./certificate.ts";

/** Starts one HTTPS listener with these options; the caller adds everything else (handlers, host). */
export type ListenTls = (options: {
  port: number;
  reusePort: true;
  tls: { cert: string; key: string; ca: string };
}) => Server<unknown>;

export interface ReloadResult {
  /** False when the files hold the pair already served: nothing was swapped. */
  changed: boolean;
  files: TlsFiles;
}

/**
 * An HTTPS listener whose certificate can be replaced while it runs.
 *
 * Bun's `server.reload({ tls })` keeps serving the old certificate (Bun 1.4.4, oven-sh/bun#43815),
 * so a new certificate gets a new listener on the same port, bound with SO_REUSEPORT next to the
 * old one, which then stops listening. The old listener's WebSockets and in-flight requests finish
 * on it undisturbed; only its idle keep-alive connections are closed, which HTTP clients reopen.
 */
export class ReloadableTlsServer {
  readonly port: number;
  #server: Server<unknown>;
  #files: TlsFiles;
  /** Earlier listeners, kept until their last connection ends so that stop() can end them too. */
  readonly #draining = new Set<Server<unknown>>();
  readonly #listen: ListenTls;

  constructor(listen: ListenTls, hostname: string, port: number, files: TlsFiles) {
    this.#listen = listen;
    // SO_REUSEPORT would also let a second panel share this port without a word: a listener without
    // it cannot bind where anything listens, so it fails first and the clash is reported.
    const probe = Bun.listen({ hostname, port, socket: { data() {} } });
    this.port = probe.port;
    probe.stop(true);
    this.#server = this.#start(files);
    this.#files = files;
  }

  get files(): TlsFiles {
    return this.#files;
  }

  /**
   * Reads the certificate and key files again and serves them to new connections. A pair that
   * cannot be read or served throws a CertificateError, and the current one stays.
   */
  reload(): ReloadResult {
    const files = loadTls(this.#files.certPath, this.#files.keyPath);
    if (files.cert === this.#files.cert && files.key === this.#files.key) return { changed: false, files };
    const next = this.#start(files);
    const old = this.#server;
    this.#server = next;
    this.#files = files;
    this.#draining.add(old);
    void old.stop().then(() => this.#draining.delete(old));
    return { changed: true, files };
  }

  async stop(): Promise<void> {
    await Promise.all([this.#server, ...this.#draining].map((s) => s.stop(true)));
  }

  #start(files: TlsFiles): Server<unknown> {
    try {
      // `ca` only checks client certificates, which the panel never asks for. Without it Bun parses
      // its ~150 bundled root certificates for each listener: ~17 ms of CPU before the first answer
      // (measured, Bun 1.4.4; docs/decisions.md "Start-up … (#14)").
      const tls = { cert: files.cert, key: files.key, ca: files.cert };
      return this.#listen({ port: this.port, reusePort: true, tls });
    } catch (err) {
      throw pairProblem(err, files) ?? err;
    }
  }
}
