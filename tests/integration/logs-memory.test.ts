import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, containerState, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

const LINES = 200_000;
const LINE_BYTES = 999; // with its newline, 1 KB: the log is ~200 MB
const READERS = 3;
const MB = 1024 * 1024;

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/**
 * Issue #8, point 5: `tail=all` on a big log once built the whole answer in memory (1.6 GB for three
 * requests on a 300 MB log). Three slow readers of a 200 MB log now cost the executable little.
 */
describe("container logs with bounded memory (built executable)", () => {
  let panel: BinaryPanel;
  let token = "";
  let name = "";

  beforeAll(async () => {
    name = uniqueName("biglog");
    // Bounded: LINES lines, then it exits. The log driver keeps each with its time: ~200 MB on disk.
    runContainer(name, [
      "sh",
      "-c",
      `line=$(head -c ${LINE_BYTES} /dev/zero | tr '\\0' x); yes "$line" | head -n ${LINES}; echo done`,
    ]);
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, ADMIN, "logs-memory", "setup");
    await eventually(() => (containerState(name) === "exited" ? true : undefined), 120_000, "the log");
  }, 180_000);

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
  });

  it("streams tail=all to three slow readers at once, every line, without holding the log", async () => {
    const logs = (tail = "all") =>
      fetch(`${panel.url}/api/v1/envs/local/containers/${name}/logs?tail=${tail}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    // Warm: what the first request loads (routes, the engine client) is not the log's cost.
    expect(await (await logs("1000")).json()).toHaveLength(1000);
    Bun.gc(true);
    await Bun.sleep(500);
    const before = rssOf(panel.pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(panel.pid));
    }, 25);

    const read = async () => {
      const res = await logs();
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const reader = res.body!.getReader();
      let bytes = 0;
      let objects = 0;
      let first = -1;
      let last = -1;
      for (let chunks = 0; ; chunks++) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first < 0) first = value[0]!;
        last = value[value.length - 1]!;
        bytes += value.length;
        // Each line is one object, and the text (x…x, "done") holds no brace.
        for (let at = value.indexOf(0x7d); at >= 0; at = value.indexOf(0x7d, at + 1)) objects++;
        // Slowly for the first few seconds: the panel must wait for the reader, not buffer for it.
        if (chunks < 200) await Bun.sleep(15);
      }
      return { bytes, objects, first, last };
    };
    const results = await Promise.all(Array.from({ length: READERS }, read)).finally(() =>
      clearInterval(sampler),
    );

    for (const r of results) {
      expect(r.objects).toBe(LINES + 1);
      expect(String.fromCharCode(r.first, r.last)).toBe("[]");
      expect(r.bytes).toBeGreaterThan(LINES * LINE_BYTES);
    }
    expect((peak - before) / MB, `RSS from ${before / MB} MB to ${peak / MB} MB`).toBeLessThan(64);
  }, 180_000);
});
