import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BINARY = fileURLToPath(new URL("../../dist/ghostpanel", import.meta.url));

export interface BinaryPanel {
  url: string;
  dataDir: string;
  /** the process id, for reading its memory from /proc */
  pid: number;
  output: () => string;
  /** SIGKILL, as a crash would: nothing is flushed or closed; waits until the process is gone. */
  kill(): Promise<void>;
  /** Sends the process a signal (SIGHUP to reload the certificate). */
  signal(name: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/**
 * Runs the built executable on a free loopback port and waits until it says where it listens.
 * With `dataDir` (to restart on the data another run left) the caller owns it: stop() leaves it.
 */
export async function startBinary(
  args: string[] = [],
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<BinaryPanel> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` first`);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "gptest-bin-"));
  const proc = Bun.spawn([BINARY, "serve", "--listen", "127.0.0.1:0", "--data", dataDir, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += Buffer.from(value).toString();
    }
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const deadline = Date.now() + 15_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    url = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  if (!url) {
    proc.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`the panel did not start:\n${out}`);
  }
  return {
    url,
    dataDir,
    pid: proc.pid,
    output: () => out,
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    signal: (name) => proc.kill(name),
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited, Bun.sleep(5_000).then(() => "timeout")]);
      if (exited === "timeout") proc.kill("SIGKILL");
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
