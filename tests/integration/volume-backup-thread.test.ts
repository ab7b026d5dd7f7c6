import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { EngineError } from "../../src/engine/errors.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { backup } from "../../src/volumes/files.ts";
import { gzipOnThread } from "../../src/volumes/gzip-thread.ts";
import { cleanupEngine, docker, eventually, PREFIX, RUN_LABEL, TEST_IMAGE } from "../helpers/engine.ts";

/**
 * A backup's two paths (src/volumes/gzip-thread.ts): gzipped on a thread that reaches the engine
 * itself, and in-process when the engine is reachable only through the panel's own object (an
 * agent's tunnel). Both must give the same archive, leave no helper behind, finished or dropped.
 */
const url = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
const direct = new DockerHttpEngine(parseEngineUrl(url));
// A transport of its own, as an agent's tunnel is: no other thread can use it.
const tunnelled = new DockerHttpEngine(parseEngineUrl(url), (u, init) => fetch(u, init));
const volume = `${PREFIX}thread-data`;

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

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
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
  afterAll(() => {
    cleanupEngine();
    docker("volume", "rm", "-f", volume);
  }, 60_000);

  it("gives the same files both ways, and the helper is gone once the archive is read", async () => {
    expect(direct.direct("/x")).toBeDefined();
    expect(tunnelled.direct("/x")).toBeUndefined();
    const want = docker(
      "run",
      "--rm",
      "--network",
      "none",
      "--label",
      RUN_LABEL,
      "-v",
      `${volume}:/d:ro`,
      TEST_IMAGE,
      "sh",
      "-c",
      "cd /d && find . -type f | sort | xargs sha256sum",
    );
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
});
