import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort } from "./ports.ts";

/**
 * Debian's docker-registry (distribution v2), run by a test on a free loopback port with its own
 * storage directory, and stopped with it. The engine treats 127.0.0.0/8 as an insecure registry,
 * so plain HTTP works without configuring it. With `htpasswd`, it asks for that login (basic auth).
 */
export interface TestRegistry {
  /** host:port, as image references name it: `${host}/repo:tag` */
  host: string;
  stop(): Promise<void>;
}

const BINARY = "/usr/bin/docker-registry";

/** Installs the package if this machine lacks it (the tests run as root). */
export function ensureRegistryInstalled(): void {
  if (Bun.spawnSync(["dpkg", "-s", "docker-registry"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0)
    return;
  const res = Bun.spawnSync(["apt-get", "install", "-y", "docker-registry"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (res.exitCode !== 0) throw new Error(`apt-get install docker-registry failed: ${res.stderr.toString()}`);
}

export async function startRegistry(
  options: { htpasswd?: { username: string; password: string } } = {},
): Promise<TestRegistry> {
  ensureRegistryInstalled();
  const dir = mkdtempSync(join(tmpdir(), "gptest-registry-"));
  const port = await freeLoopbackPort();
  const auth = options.htpasswd
    ? (() => {
        const file = join(dir, "htpasswd");
        // bcrypt, as the registry's htpasswd reader requires
        const hash = Bun.password.hashSync(options.htpasswd.password, { algorithm: "bcrypt", cost: 5 });
        writeFileSync(file, `${options.htpasswd.username}:${hash}\n`);
        return `auth:\n  htpasswd:\n    realm: gptest\n    path: ${file}\n`;
      })()
    : "";
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      auth,
    ].join("\n"),
  );
  const proc = Bun.spawn([BINARY, "serve", config], { stdout: "ignore", stderr: "pipe" });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (up) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      const err = await new Response(proc.stderr).text().catch(() => "");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start on ${host}: ${err.slice(0, 500)}`);
    }
    await Bun.sleep(50);
  }
  return {
    host,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
