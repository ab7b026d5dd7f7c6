import { afterAll, describe, expect, it } from "vitest";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { followProgress } from "../../src/jobs/engine-progress.ts";
import { type Job, Jobs } from "../../src/jobs/jobs.ts";
import { docker, PREFIX } from "../helpers/engine.ts";
import { until } from "../helpers/fake-engine.ts";

/** A tar of one file, made here: a 512-byte header, the data padded to 512, two empty blocks. */
function tarOf(name: string, data: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
  put(name, 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  put(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, "0")}\0`,
    136,
  );
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  const sum = header.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padded = Math.ceil(data.length / 512) * 512;
  const tar = new Uint8Array(512 + padded + 1024);
  tar.set(header, 0);
  tar.set(data, 512);
  return tar;
}

/** Jobs over the real engine: bytes streamed in, progress read back, failures and cancels as the job's end. */
describe("jobs on the engine's streamed calls", () => {
  const engine = new DockerHttpEngine(
    parseEngineUrl(process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock"),
  );
  const jobs = new Jobs();
  const repo = `${PREFIX}imported`;
  const owner = { user: "tester", teams: [] };
  const ended = async (job: Job) => {
    await until(() => job.state !== "running", 20_000, `job ${job.title} ends`);
    return job;
  };

  afterAll(() => {
    try {
      docker("rmi", "-f", `${repo}:1`);
    } catch {}
  });

  it("streams a request body in and the engine's progress out (an import)", async () => {
    await engine.connect();
    const tar = tarOf("hello.txt", new TextEncoder().encode("made by a job\n"));
    // Given in small pieces, as an upload arrives.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < tar.length; at += 700) controller.enqueue(tar.slice(at, at + 700));
        controller.close();
      },
    });
    const job = jobs.start("local", { kind: "import", title: repo }, owner, async (handle) => {
      const answer = await engine.open("POST", `/images/create?fromSrc=-&repo=${repo}&tag=1`, {
        body,
        headers: { "content-type": "application/x-tar" },
        signal: handle.signal,
      });
      await followProgress(answer.body!, handle);
      return `${repo}:1`;
    });
    await ended(job);
    expect(job.error).toBeNull();
    expect(job.state).toBe("done");
    expect(job.result).toBe(`${repo}:1`);
    // What the engine made of it: an image with our one file.
    const layers = JSON.parse(docker("image", "inspect", `${repo}:1`, "--format", "{{json .RootFS.Layers}}"));
    expect(layers.length).toBe(1);
  });

  it("a failure reported inside the stream fails the job with the engine's words", async () => {
    // Nothing listens on port 1 of loopback: the engine answers 200, then reports the failure.
    const job = jobs.start("local", { kind: "pull", title: "nothing" }, owner, async (handle) => {
      const answer = await engine.open("POST", "/images/create?fromImage=127.0.0.1:1/nothing&tag=1", {
        signal: handle.signal,
      });
      await followProgress(answer.body!, handle);
      return undefined;
    });
    await ended(job);
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(/127\.0\.0\.1:1|connection refused|connect/i);
  });

  it("an engine error before the stream is an EngineError with its message", async () => {
    await expect(engine.open("GET", `/images/${PREFIX}missing:1/json`)).rejects.toThrow(/No such image/);
  });

  it("a cancelled job ends as cancelled, and its work sees the abort", async () => {
    let seen = false;
    const job = jobs.start("local", { kind: "wait", title: "cancel me" }, owner, async (handle) => {
      await new Promise<void>((_, reject) =>
        handle.signal.addEventListener("abort", () => {
          seen = true;
          reject(new Error("stopped"));
        }),
      );
      return undefined;
    });
    expect(jobs.cancel("local", job.id)).toBe(true);
    await ended(job);
    expect(seen).toBe(true);
    expect(job.state).toBe("cancelled");
    expect(jobs.cancel("local", job.id)).toBe(false);
  });
});
