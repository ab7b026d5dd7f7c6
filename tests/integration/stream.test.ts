import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/protocol/frames.ts";
import { linesOf } from "../../src/protocol/log-batch.ts";
import { cleanupEngine, docker, eventually, runContainer, shellsIn, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

describe("live stream", () => {
  let p: TestPanel;
  const clients: StreamClient[] = [];
  const connect = async (topics: string[]) => {
    const c = new StreamClient(p.url, p.token, topics);
    clients.push(c);
    await c.open();
    return c;
  };

  beforeAll(async () => {
    p = await startTestPanel();
    await eventually(async () =>
      (await p.api("GET", "/healthz")).body.engines[0].status === "up" ? true : undefined,
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await p.stop();
    cleanupEngine();
  });

  it("sends a snapshot on subscribe, then upserts and removes as containers change outside the panel", async () => {
    const s = await connect(["containers:local", "envs"]);
    const snap = await s.next((f) => f.t === "containers:local" && f.k === "snapshot");
    expect(Array.isArray(snap.d)).toBe(true);
    const envs = await s.next((f) => f.t === "envs");
    expect(envs.d[0]).toMatchObject({ id: "local", status: "up" });

    const name = uniqueName("live");
    const mark = s.frames.length;
    const id = runContainer(name);
    const up = await s.next(
      (f) => f.k === "upsert" && f.d.id === id && f.d.state === "running",
      10_000,
      mark,
    );
    expect(up.d).toMatchObject({ name, state: "running" });
    expect(up.d).not.toHaveProperty("tty");
    expect(up.d).not.toHaveProperty("pid");

    docker("stop", "-t", "0", id);
    await s.next((f) => f.k === "upsert" && f.d.id === id && f.d.state === "exited", 10_000, mark);
    docker("rm", id);
    const gone = await s.next((f) => f.k === "remove" && f.d.id === id, 10_000, mark);
    expect(gone.t).toBe("containers:local");
  });

  it("subscribes and unsubscribes with msgpack messages, and answers ping", async () => {
    const s = await connect([]);
    s.send(encodeMessage({ op: "sub", topics: ["containers:local"] }));
    await s.next((f) => f.t === "containers:local" && f.k === "snapshot");
    s.send(encodeMessage({ op: "ping" }));
    await s.next((f) => f.k === "pong");
    s.send(encodeMessage({ op: "unsub", topics: ["containers:local"] }));
    s.send(encodeMessage({ op: "ping" }));
    await s.next((f) => f.k === "pong" && s.frames.filter((x) => x.k === "pong").length === 2);
    const mark = s.frames.length;
    const name = uniqueName("unsub");
    runContainer(name);
    // A barrier, not a wait: once the list shows it, the topic has published its frame (it does so
    // as the mirror changes), and a pong after that comes behind anything sent on this connection.
    await eventually(async () => {
      const list = (await p.api("GET", "/api/v1/envs/local/containers")).body as { name: string }[];
      return list.some((c) => c.name === name) ? true : undefined;
    });
    s.send(encodeMessage({ op: "ping" }));
    await s.next((f) => f.k === "pong" && s.frames.filter((x) => x.k === "pong").length === 3);
    expect(s.frames.slice(mark).filter((f) => f.t === "containers:local")).toEqual([]);
  });

  it("answers resync with the topic's keyframe again, at most one in 500 ms, and ignores topics not subscribed", async () => {
    const s = await connect(["stats:local"]);
    await s.next((f) => f.t === "stats:local" && f.k === "key");
    const keys = () => s.frames.filter((f) => f.t === "stats:local" && f.k === "key").length;
    s.send(encodeMessage({ op: "resync", topics: ["stats:local", "containers:local"] }));
    s.send(encodeMessage({ op: "resync", topics: ["stats:local"] }));
    s.send(encodeMessage({ op: "resync", topics: ["stats:local"] }));
    await s.next(() => keys() === 2);
    await Bun.sleep(400);
    expect(keys()).toBe(2);
    expect(s.frames.filter((f) => f.t === "containers:local")).toEqual([]);
  });

  it("refuses unknown topics and bad frames with an error frame, and text frames by closing", async () => {
    const s = await connect(["nonsense:local", "containers:nowhere", "logs:local:no-such-container"]);
    const errors = await eventually(() => {
      const e = s.frames.filter((f) => f.k === "error");
      return e.length === 3 ? e : undefined;
    });
    expect(errors.map((e) => e.d.code).sort()).toEqual(["not_found", "not_found", "unknown_topic"]);
    s.send(pack({ op: "dance" }));
    await s.next((f) => f.k === "error" && f.d.code === "bad_op");
    s.send(new Uint8Array([0x81, 0xa2, 0x6f, 0x70]));
    await s.next((f) => f.k === "error" && f.d.code === "bad_frame");
    s.ws.send("hello");
    await eventually(() => s.closeCode);
    expect(s.closeCode).toBe(1003);
  });

  it("follows logs: one engine stream shared by every watcher, the tail first, then new lines", async () => {
    const name = uniqueName("follow");
    const id = runContainer(name, [
      "sh",
      "-c",
      "echo first; echo oops >&2; i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick$i; sleep 0.2; done",
    ]);
    await eventually(async () =>
      (await p.api("GET", `/api/v1/envs/local/containers/${id}`)).status === 200 ? 1 : undefined,
    );
    const a = await connect([`logs:local:${id}`]);
    await a.next((f) => f.k === "lines" && linesOf(f.d).some((l) => /^tick\d+$/.test(l.text)));
    const seen = a.frames.filter((f) => f.k === "lines").flatMap((f) => linesOf(f.d));
    // Docker copies stdout and stderr separately: their relative order is not kept.
    expect(seen.find((l) => l.text === "first")?.stderr).toBe(false);
    expect(seen.find((l) => l.text === "oops")?.stderr).toBe(true);
    const b = await connect([`logs:local:${id}`]);
    const tail = await b.next((f) => f.k === "lines");
    expect(linesOf(tail.d).map((l) => l.text)).toContain("first");
    const mark = b.frames.length;
    await b.next((f) => f.k === "lines", 5_000, mark);
    docker("stop", "-t", "0", id);
    const end = await a.next((f) => f.k === "end");
    expect(end.t).toBe(`logs:local:${id}`);
  });

  it("refuses a cookie-authenticated upgrade from another origin before it runs anything", async () => {
    const id = runContainer(uniqueName("origin"));
    await eventually(async () =>
      (await p.api("GET", `/api/v1/envs/local/containers/${id}`)).status === 200 ? true : undefined,
    );
    const handshake = {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    };
    let session = 0;
    // What a page elsewhere gets from the victim's browser: the cookie, and its own Origin (or none).
    for (const origin of ["https://evil.example", `${p.url}.evil.example`, "null", undefined]) {
      const headers: Record<string, string> = { cookie: p.cookie, ...(origin ? { origin } : {}) };
      const res = await fetch(`${p.url}/api/v1/stream`, { headers: { ...handshake, ...headers } });
      expect(res.status, String(origin)).toBe(403);
      expect((await res.json()).error.code).toBe("cross_origin");
      const topic = `exec:local:${id}:origin-attack-${++session}`;
      const attacker = new StreamClient(p.url, headers, [topic]);
      clients.push(attacker);
      await expect(attacker.open()).rejects.toThrow();
    }
    await Bun.sleep(500);
    expect(await shellsIn(id)).toBe(0);
    const audit = await p.api("GET", `/api/v1/audit?action=${encodeURIComponent(`EXEC exec:local:`)}`);
    expect(audit.body.filter((e: { target: string }) => e.target.includes(id))).toEqual([]);

    // Our own page (same Origin) and a bearer client without one get their shell.
    const own = new StreamClient(p.url, { cookie: p.cookie, origin: p.url }, [
      `exec:local:${id}:origin-own-page`,
    ]);
    const script = new StreamClient(p.url, p.token, [`exec:local:${id}:origin-script`]);
    clients.push(own, script);
    await own.next((f) => f.k === "started");
    await script.next((f) => f.k === "started");
    await eventually(async () => ((await shellsIn(id)) === 2 ? true : undefined), 5_000, "both shells");
  });

  it("refuses an unauthenticated upgrade with 401 JSON", async () => {
    const res = await fetch(`${p.url}/api/v1/stream`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("unauthorized");
    const plain = await p.api("GET", "/api/v1/stream");
    expect(plain.status).toBe(426);
  });
});
