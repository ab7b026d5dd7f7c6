import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogBatch, linesOf } from "../../src/protocol/log-batch.ts";
import { encodeFrame } from "../../src/stream/frames.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

/** `docker logs -t` as the engine itself tells it: each line's RFC 3339 time and text. */
function engineLines(id: string): { time: string; text: string }[] {
  return docker("logs", "-t", id)
    .split("\n")
    .filter(Boolean)
    .map((l) => ({ time: l.slice(0, l.indexOf(" ")), text: l.slice(l.indexOf(" ") + 1) }));
}

describe("container logs: batched frames, time windows, older lines, download", () => {
  let p: TestPanel;
  const clients: StreamClient[] = [];
  let windowed = "";

  beforeAll(async () => {
    p = await startTestPanel();
    windowed = runContainer(uniqueName("lg-window"), [
      "sh",
      "-c",
      'i=0; while [ $i -lt 1000 ]; do echo "n-$i"; i=$((i+1)); done; sleep 3600',
    ]);
    await eventually(() => (engineLines(windowed).length === 1000 ? true : undefined));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await p.stop();
    cleanupEngine();
  });

  const logs = (id: string, query: string) =>
    p.api("GET", `/api/v1/envs/local/containers/${id}/logs?${query}`);

  it("sends a fast writer's lines many to a frame, every line once, in order, with its stream", async () => {
    const LINES = 20_000;
    const id = runContainer(uniqueName("lg-fast"), [
      "sh",
      "-c",
      `while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; while [ $i -lt ${LINES} ]; do echo "fast-$i"; ` +
        `if [ $((i % 100)) -eq 0 ]; then echo "slow-$i" >&2; fi; i=$((i+1)); done; echo done; sleep 3600`,
    ]);
    await eventually(async () =>
      (await p.api("GET", `/api/v1/envs/local/containers/${id}`)).status === 200 ? true : undefined,
    );
    const topic = `logs:local:${id}`;
    const c = new StreamClient(p.url, p.token, [topic]);
    clients.push(c);
    await c.open();
    await Bun.sleep(500);
    docker("exec", id, "touch", "/tmp/go");
    await c.next((f) => f.k === "lines" && (f.d as LogBatch).x.includes("done"), 30_000);
    const frames = c.frames.filter((f) => f.t === topic && f.k === "lines");
    const lines = frames.flatMap((f) => linesOf(f.d as LogBatch));
    const out = lines.filter((l) => !l.stderr).map((l) => l.text);
    const err = lines.filter((l) => l.stderr).map((l) => l.text);
    expect(out).toEqual([...Array.from({ length: LINES }, (_, i) => `fast-${i}`), "done"]);
    expect(err).toEqual(Array.from({ length: LINES / 100 }, (_, i) => `slow-${i * 100}`));
    // Batched: a frame holds many lines (a per-line frame would make it ~20,200 frames).
    expect(frames.length).toBeLessThan(lines.length / 20);
    // Times as the engine gave them, to the microsecond.
    const truth = engineLines(id).find((l) => l.text === "fast-12345")!;
    const got = lines.find((l) => l.text === "fast-12345")!;
    const us = Date.parse(`${truth.time.slice(0, 19)}Z`) * 1000 + Number(truth.time.slice(20, 26));
    expect(got.us).toBe(us);
    // Each frame stays far under the 1 MiB a connection may hold unsent.
    for (const f of frames)
      expect(encodeFrame(topic, { k: "lines", d: f.d }).length).toBeLessThan(512 * 1024);
  });

  it("reads the last lines before a time (older lines), and a since..until window, both inclusive", async () => {
    const truth = engineLines(windowed);
    const older = await logs(windowed, `tail=100&timestamps=1&until=${truth[500]!.time}`);
    expect(older.status).toBe(200);
    expect(older.body.map((l: { text: string }) => l.text)).toEqual(
      Array.from({ length: 100 }, (_, i) => `n-${401 + i}`),
    );
    expect(older.body[99].time).toBe(truth[500]!.time);
    const window = await logs(windowed, `tail=all&since=${truth[100]!.time}&until=${truth[199]!.time}`);
    expect(window.body.map((l: { text: string }) => l.text)).toEqual(
      Array.from({ length: 100 }, (_, i) => `n-${100 + i}`),
    );
    // Unix seconds with a fraction work too; a tail larger than what is before `until` gives all of it.
    const [sec, frac] = [Math.floor(Date.parse(truth[9]!.time) / 1000), truth[9]!.time.slice(20, 29)];
    const first = await logs(windowed, `tail=50&until=${sec}.${frac}`);
    expect(first.body.map((l: { text: string }) => l.text)).toEqual(
      Array.from({ length: 10 }, (_, i) => `n-${i}`),
    );
    const bad = await logs(windowed, "until=next-tuesday");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/until: unix seconds or an RFC 3339 time/);
  });

  it("downloads the log as text, as a file, with the same filters", async () => {
    const res = await fetch(
      `${p.url}/api/v1/envs/local/containers/${windowed}/logs?tail=all&format=text&download=1&timestamps=1&stderr=0`,
      { headers: { authorization: `Bearer ${p.token}` } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="gptest-[\w.-]+\.log"$/);
    const text = await res.text();
    expect(text).toBe(
      `${engineLines(windowed)
        .map((l) => `${l.time} ${l.text}`)
        .join("\n")}\n`,
    );
    const bare = await fetch(`${p.url}/api/v1/envs/local/containers/${windowed}/logs?tail=2&format=text`, {
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(bare.headers.get("content-disposition")).toBeNull();
    expect(await bare.text()).toBe("n-998\nn-999\n");
  });
});
