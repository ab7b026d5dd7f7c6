/**
 * The engine's unix socket served on a loopback TCP port, in a process of its own (`bun
 * tcp-proxy.ts CONFIG`): a panel pointed at tcp://127.0.0.1:<port> sees a remote engine, cannot
 * read its containers' cgroup files for it, and uses the Docker-stats source. A process of its
 * own so its CPU is not the panel's nor the bench's. (The idea of tests/helpers/engine-proxy.ts.)
 *
 * Commands on stdin: `stop` answers `done` with the bytes it moved.
 */
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { log } from "./util.ts";
import { emit, WorkerProcess, workerMain } from "./worker.ts";

interface ProxyConfig {
  socket: string;
  port: number;
  maxMs: number;
}

function serve(config: ProxyConfig): void {
  const counts = { connections: 0, bytes_to_engine: 0, bytes_from_engine: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    counts.connections++;
    const up = connect(config.socket);
    sockets.add(client).add(up);
    client.on("data", (b: Buffer) => {
      counts.bytes_to_engine += b.length;
    });
    up.on("data", (b: Buffer) => {
      counts.bytes_from_engine += b.length;
    });
    client.pipe(up).pipe(client);
    const drop = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on("error", drop).on("close", drop);
    up.on("error", drop).on("close", drop);
  });
  server.on("error", (err) => emit({ type: "error", message: err.message }));
  server.listen(config.port, "127.0.0.1", () => emit({ type: "ready" }));
  commands.stop = () => {
    for (const s of sockets) s.destroy();
    server.close();
    emit({ type: "done", ...counts });
    process.exit(0);
  };
}

const commands: { stop?: () => void } = {};

if (import.meta.main) {
  const config = workerMain<ProxyConfig>((command) => {
    if (command === "stop") commands.stop?.();
  });
  serve(config);
}

// ---- the bench's side ----

export interface TcpProxy {
  pid: number;
  url: string;
  stop(): Promise<{ connections: number; bytes_to_engine: number; bytes_from_engine: number }>;
}

export async function startTcpProxy(
  socket: string,
  port: number,
  dir: string,
  maxMs: number,
): Promise<TcpProxy> {
  const worker = new WorkerProcess(
    import.meta.path,
    { socket, port, maxMs } satisfies ProxyConfig,
    join(dir, "tcp-proxy.log"),
    "tcp proxy",
  );
  try {
    await worker.next("ready", 20_000);
  } catch (err) {
    await worker.child.stop();
    throw err;
  }
  log(`tcp proxy: tcp://127.0.0.1:${port} → unix://${socket}`);
  return {
    pid: worker.child.pid,
    url: `tcp://127.0.0.1:${port}`,
    async stop() {
      worker.send("stop");
      const done = await worker.next("done", 10_000).catch(() => undefined);
      await worker.child.stop();
      return {
        connections: Number(done?.connections ?? 0),
        bytes_to_engine: Number(done?.bytes_to_engine ?? 0),
        bytes_from_engine: Number(done?.bytes_from_engine ?? 0),
      };
    },
  };
}
