import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Transform } from "node:stream";

export interface EngineProxyOptions {
  /** Also listen on tcp://127.0.0.1:<port> (a free port on first start, the same one on restarts). */
  tcp?: boolean;
}

/**
 * A unix socket in front of the real engine's socket. It forwards bytes both ways and counts the
 * requests it sees, so tests can tell how often the panel asks the engine, and it can be closed and
 * reopened to take the engine away from the panel and give it back. With `tcp` it also serves the
 * same engine on a loopback TCP port, as a plain tcp:// engine (no TLS).
 */
export class EngineProxy {
  readonly requests: string[] = [];
  private server: Server | undefined;
  private tcpServer: Server | undefined;
  private port: number | undefined;
  private sockets = new Set<Socket>();
  private frozen = false;
  private held: { pattern: RegExp; waiting: (() => void)[] } | undefined;

  constructor(
    readonly path: string,
    private readonly upstream = "/var/run/docker.sock",
    private readonly options: EngineProxyOptions = {},
  ) {}

  get url(): string {
    return `unix://${this.path}`;
  }

  /** tcp://127.0.0.1:<port>, once started with the `tcp` option. */
  get tcpUrl(): string {
    if (this.port === undefined)
      throw new Error("EngineProxy: not listening on TCP (option tcp, then start())");
    return `tcp://127.0.0.1:${this.port}`;
  }

  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(r)).length;
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((client) => this.forward(client));
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
    if (this.options.tcp) {
      const tcp = createServer((client) => this.forward(client));
      this.tcpServer = tcp;
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(this.port ?? 0, "127.0.0.1", () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      const address = tcp.address();
      if (address && typeof address === "object") this.port = address.port;
    }
  }

  /** Takes the engine away: the socket disappears and every open connection is cut. */
  async stop(): Promise<void> {
    const servers = [this.server, this.tcpServer].filter((s): s is Server => s !== undefined);
    this.server = undefined;
    this.tcpServer = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    rmSync(this.path, { force: true });
  }

  /** The engine stops answering, but nothing is closed: what a dead link looks like from the panel. */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.resume();
  }

  /**
   * Requests whose line ("GET /v1.41/containers/…/json") matches `pattern` reach the engine only
   * when the returned function is called: one question a busy engine is slow to answer, while
   * everything else goes on.
   */
  hold(pattern: RegExp): () => void {
    const held = { pattern, waiting: [] as (() => void)[] };
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      for (const go of held.waiting.splice(0)) go();
    };
  }

  private forward(client: Socket): void {
    const up = connect(this.upstream);
    this.sockets.add(client).add(up);
    const toEngine = new Transform({
      transform: (chunk: Buffer, _encoding, pass) => {
        const lines = [
          ...chunk.toString("latin1").matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]/gm),
        ].map((m) => `${m[1]} ${m[2]}`);
        this.requests.push(...lines);
        const held = this.held;
        // Held with everything after it on this connection, in order.
        if (held && lines.some((l) => held.pattern.test(l))) held.waiting.push(() => pass(null, chunk));
        else pass(null, chunk);
      },
    });
    client.pipe(toEngine).pipe(up).pipe(client);
    // After pipe(), which resumes its source.
    if (this.frozen) {
      client.pause();
      up.pause();
    }
    const drop = () => {
      client.destroy();
      toEngine.destroy();
      up.destroy();
      this.sockets.delete(client);
      this.sockets.delete(up);
    };
    client.on("error", drop).on("close", drop);
    up.on("error", drop).on("close", drop);
  }
}
