import { mkdirSync } from "node:fs";
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { MAX_UPLOAD_BYTES, SEND_BUFFER_LIMIT } from "../http/limits.ts";
import { autoTls, CertificateError, loadTls, type TlsFiles } from "../tls/certificate.ts";
import { ReloadableTlsServer } from "../tls/reload.ts";
import { ConfigError, type ServeConfig } from "./config.ts";

type Fetch = (req: Request, server: Server<unknown>) => Response | Promise<Response | undefined> | undefined;

/**
 * The panel's main listener, bound before anything else of the panel is loaded: a process
 * supervisor (or a user watching `curl /healthz`) learns that the panel is alive within a few ms
 * of the start, while the database, the routes and the engines come up behind it.
 *
 * Until the app is attached, an anonymous `GET /healthz` gets what the app itself would say at
 * that moment (the panel is up, the local engine "connecting"); every other request waits for the
 * app and is then answered by it, so nothing is refused or answered differently for being early.
 */
export interface Listener {
  port: number;
  tls: TlsFiles | undefined;
  /** the listener whose certificate SIGHUP reloads, when TLS is on */
  tlsServer: ReloadableTlsServer | undefined;
  /** Hands every request, the waiting ones first, to the app. */
  attach(fetch: Fetch, websocket: WebSocketHandler<unknown>): void;
  /** A start that failed after the listener opened: waiting requests get 503, the port is freed. */
  abandon(): Promise<void>;
  stop(): Promise<void>;
}

export async function openListener(config: ServeConfig, version: string): Promise<Listener> {
  let tls: TlsFiles | undefined;
  try {
    if (config.tls.mode === "auto") {
      // A first start: the certificate is the first thing kept in the data directory (as the
      // database would have made it, src/store/database.ts).
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      tls = await autoTls(config.dataDir);
    } else if (config.tls.mode === "files") tls = loadTls(config.tls.cert, config.tls.key);
  } catch (err) {
    throw new ConfigError(`${err instanceof CertificateError ? "--tls: " : ""}${(err as Error).message}`);
  }

  let app: Fetch | undefined;
  let ws: WebSocketHandler<unknown> | undefined;
  let settle!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  let tlsServer: ReloadableTlsServer | undefined;
  const health = JSON.stringify({
    status: "ok",
    warnings: [],
    version,
    engines: [{ id: "local", status: "connecting" }],
    tls: tls ? { fingerprint_sha256: tls.fingerprint } : null,
  });
  const early: Fetch = async (req, server) => {
    const url = new URL(req.url, "http://x");
    // Who a caller with credentials is cannot be known before the database is open: they wait.
    if (
      req.method === "GET" &&
      url.pathname === "/healthz" &&
      !req.headers.has("authorization") &&
      !req.headers.has("cookie")
    ) {
      return new Response(health, {
        headers: { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" },
      });
    }
    if (!(await ready)) return new Response("GhostPanel is stopping: its start failed.", { status: 503 });
    return app!(req, server);
  };
  // The websocket handlers are the app's; none is called before it is attached (upgrades wait).
  const websocket: WebSocketHandler<unknown> = {
    open: (s: ServerWebSocket<unknown>) => ws?.open?.(s),
    message: (s, m) => ws?.message?.(s, m),
    close: (s, code, reason) => ws?.close?.(s, code, reason),
    drain: (s) => ws?.drain?.(s),
    backpressureLimit: SEND_BUFFER_LIMIT * 2,
    maxPayloadLength: 64 * 1024,
  };
  const serve = (listen: {
    port: number;
    reusePort?: true;
    tls?: { cert: string; key: string; ca: string };
  }) =>
    Bun.serve({
      hostname: config.host,
      fetch: (req, server) => (app ?? early)(req, server),
      // Upload routes stream their bodies and enforce their own limits (src/http/upload.ts).
      maxRequestBodySize: MAX_UPLOAD_BYTES,
      websocket,
      // Bun answers QUIC on the same port number in UDP and adds Alt-Svc to its HTTP/1.1 answers.
      ...(config.http3 && listen.tls ? { http3: true } : {}),
      ...listen,
    });
  let server: { port: number | undefined; stop(closeActiveConnections: true): Promise<void> };
  try {
    if (tls) server = tlsServer = new ReloadableTlsServer(serve, config.host, config.port, tls);
    else server = serve({ port: config.port });
  } catch (err) {
    if (err instanceof CertificateError) throw new ConfigError(`--tls: ${err.message}`);
    const { code, message } = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `cannot listen on ${config.host}:${config.port}: ${code === "EADDRINUSE" ? "something listens there already" : message}`,
    );
  }
  return {
    port: server.port ?? config.port,
    tls,
    tlsServer,
    attach(fetch, handler) {
      app = fetch;
      ws = handler;
      settle(true);
    },
    async abandon() {
      settle(false);
      // Time for the waiting requests' 503s to go out before their connections are closed.
      await Bun.sleep(100);
      await server.stop(true);
    },
    stop: () => server.stop(true),
  };
}
