import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { EngineError } from "../../src/engine/errors.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { ApiError } from "../../src/http/errors.ts";
import { gzipOnThread, stopArchiveThread } from "../../src/volumes/archive-thread.ts";
import { backup, restore } from "../../src/volumes/files.ts";
import { startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, PREFIX, RUN_LABEL, TEST_IMAGE } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

/**
 * A backup's and a restore's two paths (src/volumes/archive-thread.ts): on the archive thread that
 * reaches the engine itself, and in-process when the engine is reachable only through the panel's
 * own object (an agent's tunnel). Both must give the same archive and the same refusals, leave no
 * helper behind, finished or dropped.
 */
const url = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
const direct = new DockerHttpEngine(parseEngineUrl(url));
// A transport of its own, as an agent's tunnel is: no other thread can use it.
const tunnelled = new DockerHttpEngine(parseEngineUrl(url), (u, init) => fetch(u, init));
const volume = `${PREFIX}thread-data`;
const target = `${PREFIX}thread-target`;

/** This volume's helpers only: other suites run their own at the same time. */
const helpersOf = (name: string) =>
  docker(
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    "label=ghostpanel.helper=volume",
    "--format",
    "{{.ID}} {{.Mounts}}",
  )
    .split("\n")
    .filter((line) => line.includes(name));

/** path → sha256 of each file in a volume, as a container sees them. */
const sumsOf = (name: string) =>
  docker(
    "run",
    "--rm",
    "--network",
    "none",
    "--label",
    RUN_LABEL,
    "-v",
    `${name}:/d:ro`,
    TEST_IMAGE,
    "sh",
    "-c",
    "cd /d && find . -type f | sort | xargs sha256sum",
  );

/** The paths of the unix sockets process `pid` listens on (its fds' inodes, named in /proc/net/unix). */
function socketsOf(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  // A listening socket and the connections it accepted all carry its path: each path once.
  const paths = readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && inodes.has(f[6]!))
    .map((f) => f[7]!);
  return [...new Set(paths)];
}

/** path → sha256 of each file in a .tar.gz, listed by the engine's own tar in a container. */
function filesOf(gz: Uint8Array): string {
  const res = Bun.spawnSync(
    [
      "docker",
      "run",
      "--rm",
      "-i",
      "--network",
      "none",
      "--label",
      RUN_LABEL,
      TEST_IMAGE,
      "sh",
      "-c",
      "mkdir /x && cd /x && tar -xzf - && find . -type f | sort | xargs sha256sum",
    ],
    { stdin: gz, stdout: "pipe", stderr: "pipe" },
  );
  if (res.exitCode !== 0) throw new Error(`untar: ${res.stderr.toString()}`);
  return res.stdout.toString().trim();
}

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("volume backup: on a thread, or in-process", () => {
  beforeAll(async () => {
    await Promise.all([direct.connect(), tunnelled.connect()]);
    docker("volume", "create", "--label", RUN_LABEL, volume);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "--network",
      "none",
      "-v",
      `${volume}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "mkdir -p /d/a/b && head -c 3000000 /dev/urandom > /d/a/b/big && echo small > /d/small",
    );
  }, 120_000);
  afterAll(async () => {
    // This file backs up without a panel, so no panel's stop() ends the thread: the test does.
    await stopArchiveThread();
    cleanupEngine();
    docker("volume", "rm", "-f", volume, target);
  }, 60_000);

  it("gives the same files both ways, and the helper is gone once the archive is read", async () => {
    expect(direct.direct("/x")).toBeDefined();
    expect(tunnelled.direct("/x")).toBeUndefined();
    const want = sumsOf(volume);
    for (const engine of [direct, tunnelled]) {
      const gz = await read(await backup(engine, volume));
      expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
      expect(filesOf(gz)).toBe(want);
      expect(helpersOf(volume)).toEqual([]);
    }
  }, 120_000);

  it("removes the helper when the client goes away mid-backup (its reader cancelled, or its request aborted)", async () => {
    for (const how of ["cancel", "abort"] as const) {
      const abort = new AbortController();
      const reader = (await backup(direct, volume, abort.signal)).getReader();
      await reader.read();
      expect(helpersOf(volume).length).toBe(1);
      if (how === "cancel") await reader.cancel();
      else abort.abort();
      await eventually(
        () => (helpersOf(volume).length === 0 ? true : undefined),
        20_000,
        `the helper to go (${how})`,
      );
    }
  }, 90_000);

  it("answers with the engine's own status and message when the engine refuses", async () => {
    const missing = direct.direct("/containers/gptest-no-such-helper/archive?path=%2F");
    let released = 0;
    const err = await gzipOnThread(missing!, async () => {
      released++;
    }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).status).toBe(404);
    expect((err as EngineError).message).toMatch(/no such container/i);
    expect(released).toBe(0);
  }, 30_000);

  it("refuses a corrupt or truncated .tar.gz with a 400 and leaves the volume it was for as it was; restores a whole one byte for byte", async () => {
    const gz = await read(await backup(direct, volume));
    // The target holds the same names with other bytes: a restore that wrote anything would show.
    docker("volume", "create", "--label", RUN_LABEL, target);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "--network",
      "none",
      "-v",
      `${target}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "mkdir -p /d/a/b && head -c 5000 /dev/urandom > /d/a/b/big && echo old > /d/small",
    );
    const before = sumsOf(target);
    const corrupt = gz.slice();
    for (let i = 0; i < 64; i++) corrupt[Math.floor(gz.length / 2) + i]! ^= 0xa5;
    const bad: [string, Uint8Array<ArrayBuffer>][] = [
      ["truncated", gz.slice(0, Math.floor(gz.length * 0.9))],
      ["corrupt", corrupt],
      ["its last bytes cut", gz.slice(0, gz.length - 4)],
    ];
    for (const engine of [direct, tunnelled])
      for (const [what, body] of bad) {
        const err = await restore(engine, target, new Blob([body]).stream(), 1e9).catch((e) => e);
        expect(err, what).toBeInstanceOf(ApiError);
        expect((err as ApiError).status, what).toBe(400);
        expect((err as ApiError).message, what).toMatch(/nothing was restored/);
        expect(sumsOf(target), what).toBe(before);
      }
    for (const engine of [direct, tunnelled]) {
      const restored = await restore(engine, target, new Blob([gz]).stream(), 1e9);
      expect(restored.verified).toBe(true);
      expect(restored.bytes).toBe(3_000_000 + 6);
      expect(sumsOf(target)).toBe(filesOf(gz));
    }
    expect(helpersOf(target)).toEqual([]);
  }, 180_000);

  it("keeps one archive thread for backups in a row, and removes its socket when the panel stops", async () => {
    const panel = await startBinary(["--tls", "off"]);
    try {
      const token = await tokenFor(panel.url, ADMIN, "thread", "setup");
      const threads = () => socketsOf(panel.pid).filter((p) => /ghostpanel-gzip-/.test(p));
      const seen: string[][] = [];
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${panel.url}/api/v1/envs/local/volumes/${volume}/backup`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(200);
        expect(filesOf(new Uint8Array(await res.arrayBuffer()))).toBe(sumsOf(volume));
        seen.push(threads());
      }
      expect(seen[0]!.length).toBe(1);
      expect(seen[1]).toEqual(seen[0]);
      await panel.stop();
      expect(Bun.spawnSync(["ls", seen[0]![0]!]).exitCode).not.toBe(0);
    } finally {
      await panel.stop();
    }
  }, 120_000);

  it("ends the archive thread once it has had no job for a while, never during a slow download, and starts another for the next", async () => {
    const panel = await startBinary(["--tls", "off"], { env: { GHOSTPANEL_ARCHIVE_IDLE_MS: "200" } });
    try {
      const token = await tokenFor(panel.url, ADMIN, "idle", "setup");
      const threads = () => socketsOf(panel.pid).filter((p) => /ghostpanel-gzip-/.test(p));
      const backupOf = () =>
        fetch(`${panel.url}/api/v1/envs/local/volumes/${volume}/backup`, {
          headers: { authorization: `Bearer ${token}` },
        });
      // Read slowly, across many idle waits: the thread is still answering, so it must stay.
      const res = await backupOf();
      expect(res.status).toBe(200);
      const chunks: Uint8Array[] = [];
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        await Bun.sleep(50);
      }
      expect(filesOf(Buffer.concat(chunks))).toBe(sumsOf(volume));
      const ended = await eventually(
        () => (threads().length === 0 ? true : undefined),
        10_000,
        "the idle thread's end",
      );
      expect(ended).toBe(true);
      const again = await backupOf();
      expect(again.status).toBe(200);
      expect(filesOf(new Uint8Array(await again.arrayBuffer()))).toBe(sumsOf(volume));
    } finally {
      await panel.stop();
    }
  }, 120_000);
});
