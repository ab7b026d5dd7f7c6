import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A unix socket in front of the real engine's socket. It forwards bytes both ways and counts the
 * requests it sees, so tests can tell how often the panel asks the engine, and it can be closed and
 * reopened to take the engine away from the panel and give it back.
 */
export class EngineProxy {
  readonly requests: string[] = [];
  private server: Server | undefined;
  private sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly upstream = "/var/run/docker.sock",
  ) {}

  get url(): string {
    return `unix://${this.path}`;
  }

  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(r)).length;
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((client) => {
      const up = connect(this.upstream);
      this.sockets.add(client).add(up);
      client.on("data", (chunk: Buffer) => {
        for (const m of chunk
          .toString("latin1")
          .matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]/gm)) {
          this.requests.push(`${m[1]} ${m[2]}`);
        }
      });
      client.pipe(up).pipe(client);
      const drop = () => {
        client.destroy();
        up.destroy();
        this.sockets.delete(client);
        this.sockets.delete(up);
      };
      client.on("error", drop).on("close", drop);
      up.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Takes the engine away: the socket disappears and every open connection is cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
