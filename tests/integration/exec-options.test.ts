import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecOptions, encodeMessage } from "../../src/protocol/frames.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { type Frame, StreamClient } from "../helpers/stream.ts";

const text = new TextEncoder();

const printed = (client: StreamClient, topic: string) =>
  client.frames
    .filter((f: Frame) => f.t === topic && f.k === "output")
    .map((f) => new TextDecoder().decode(f.d as Uint8Array))
    .join("");

/** The processes in a container, as `ps` inside it sees them: "<uid> <args>" per line. */
const processesIn = (container: string) => docker("exec", container, "ps", "-o", "user,args");

describe("exec: a chosen command and user, and attaching to the main process", () => {
  let p: TestPanel;
  let db: Database;
  const name = uniqueName("execopts");
  let id = "";
  let session = 0;
  const tokens = new Map<string, string>();
  const topicFor = (container = id) => `exec:local:${container}:opts-session-${++session}`;

  /** Subscribes with `opts` in the `sub` message (not the URL) and waits for the first answer. */
  const open = async (topic: string, opts?: ExecOptions, token = p.token) => {
    const client = new StreamClient(p.url, token, []);
    await client.open();
    client.send(encodeMessage({ op: "sub", topics: [topic], ...(opts ? { opts } : {}) }));
    const first = await client.next((f) => f.t === topic);
    return { client, first };
  };
  const type = (client: StreamClient, t: string, keys: string) =>
    client.send(encodeMessage({ op: "input", t, d: text.encode(keys) }));

  beforeAll(async () => {
    p = await startTestPanel();
    db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    id = runContainer(name, ["sleep", "3600"], ["--label", "ghostpanel.team=alpha"]);
    for (const [username, role] of [
      ["o-viewer", "viewer"],
      ["o-alpha", "operator"],
      ["o-beta", "operator"],
    ] as const) {
      const made = await p.api("POST", "/api/v1/users", { username, password: "opts-password", role });
      expect(made.status).toBe(201);
      tokens.set(username, await tokenFor(p.url, { username, password: "opts-password" }, "t"));
    }
    const team = await p.api("POST", "/api/v1/teams", { name: "alpha" });
    const users = (await p.api("GET", "/api/v1/users")).body as { id: number; username: string }[];
    const member = (u: string) => users.find((x) => x.username === u)!.id;
    await p.api("PUT", `/api/v1/teams/${team.body.id}`, { members: [member("o-alpha"), member("o-viewer")] });
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === name) ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    db?.close();
    await p?.stop();
    cleanupEngine();
  });

  it("runs the user asked for: id -u inside, and ps sees the shell as that uid", async () => {
    const topic = topicFor();
    const { client, first } = await open(topic, { cmd: ["sh"], user: "1234:2345" });
    try {
      expect(first.k).toBe("started");
      type(client, topic, "echo uid=$(id -u) gid=$(id -g)\n");
      await eventually(() => (printed(client, topic).includes("uid=1234 gid=2345") ? true : undefined));
      // Seen from outside the session too: the engine really runs it as 1234.
      expect(processesIn(name)).toMatch(/^\s*1234\s+sh\s*$/m);
    } finally {
      client.close();
    }
    // The image's own user when none is named (root in the test image).
    const plain = topicFor();
    const second = await open(plain, { user: "" });
    type(second.client, plain, "echo uid=$(id -u)\n");
    await eventually(() => (printed(second.client, plain).includes("uid=0") ? true : undefined));
    second.client.close();
  }, 30_000);

  it("runs the argv as given, with no shell reading it", async () => {
    const topic = topicFor();
    const marker = `/tmp/${uniqueName("pwned")}`;
    const { client, first } = await open(topic, { cmd: ["echo", `$(id -u); touch ${marker}`, "`id`"] });
    try {
      expect(first.k).toBe("started");
      const exit = await client.next((f) => f.t === topic && f.k === "exit");
      expect(exit.d).toEqual({ code: 0 });
      expect(printed(client, topic)).toContain(`$(id -u); touch ${marker} \`id\``);
      expect(() => docker("exec", name, "test", "-e", marker)).toThrow();
    } finally {
      client.close();
    }
    // A long-running command is the one ps shows, as the user asked for.
    const sleeper = topicFor();
    const held = await open(sleeper, { cmd: ["sleep", "4321"], user: "4242" });
    try {
      expect(held.first.k).toBe("started");
      expect(processesIn(name)).toMatch(/^\s*4242\s+sleep 4321\s*$/m);
    } finally {
      held.client.close();
    }
    await eventually(() => (processesIn(name).includes("sleep 4321") ? undefined : true));
  }, 30_000);

  it("refuses options that are not a clean argv and user, saying why", async () => {
    const hostile: unknown[] = [
      { user: "root; rm -rf /" },
      { user: "$(id)" },
      { cmd: [] },
      { cmd: ["sh", "a\u0000b"] },
      { cmd: "sh -c id" },
      { cmd: ["sh"], privileged: "yes" },
      { mode: "attach", cmd: ["sh"] },
      { mode: "detach" },
    ];
    for (const opts of hostile) {
      const topic = topicFor();
      const { client, first } = await open(topic, opts as never);
      client.close();
      expect(first, JSON.stringify(opts)).toMatchObject({ k: "error", d: { code: "bad_options" } });
      expect(first.d.message).toMatch(/^exec options: |^attach runs nothing/);
    }
    // Nothing was started for any of them.
    expect(processesIn(name)).not.toMatch(/rm -rf|privileged/);
  }, 30_000);

  it("names an unknown user's failure plainly", async () => {
    const topic = topicFor();
    const { client, first } = await open(topic, { user: "no-such-user" });
    try {
      // The engine refuses at start (error) or the process ends at once (exit): never a running shell.
      if (first.k === "started") {
        const end = await client.next((f) => f.t === topic && (f.k === "exit" || f.k === "error"));
        expect(end.k === "exit" ? end.d.code : 1).not.toBe(0);
      } else {
        expect(first).toMatchObject({ k: "error", d: { code: "engine_error" } });
        expect(first.d.message).toMatch(/no-such-user/);
      }
    } finally {
      client.close();
    }
  }, 30_000);

  it("attaches to the main process (stdin and output), and detaching leaves it running", async () => {
    const reader = uniqueName("attach");
    const readerId = runContainer(
      reader,
      ["sh", "-c", "while read l; do echo got:$l; done"],
      ["-i", "--label", "ghostpanel.team=alpha"],
    );
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === reader) ? true : undefined;
    });
    const topic = topicFor(readerId);
    const { client, first } = await open(topic, { mode: "attach" });
    try {
      expect(first.k).toBe("started");
      type(client, topic, "hello-attach\n");
      await eventually(() => (printed(client, topic).includes("got:hello-attach") ? true : undefined));
      // No new process: what answered is the container's PID 1 loop (its log has it too).
      expect(docker("logs", reader)).toContain("got:hello-attach");
      expect(processesIn(reader)).not.toMatch(/GHOSTPANEL_EXEC/);
    } finally {
      client.close();
    }
    await Bun.sleep(500);
    expect(docker("inspect", "-f", "{{.State.Running}}", reader)).toBe("true");

    // With a TTY the main shell itself answers: its PID is 1.
    const tty = uniqueName("attachtty");
    const ttyId = runContainer(tty, ["sh"], ["-it", "--label", "ghostpanel.team=alpha"]);
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === tty) ? true : undefined;
    });
    const ttyTopic = topicFor(ttyId);
    const attached = await open(ttyTopic, { mode: "attach" }, tokens.get("o-alpha"));
    try {
      expect(attached.first.k).toBe("started");
      type(attached.client, ttyTopic, "echo main-pid-$$\n");
      await eventually(() => (printed(attached.client, ttyTopic).includes("main-pid-1") ? true : undefined));
    } finally {
      attached.client.close();
    }
    await Bun.sleep(500);
    expect(docker("inspect", "-f", "{{.State.Running}}", tty)).toBe("true");
  }, 40_000);

  it("lets only who may exec attach, non-admins only where engine safety allows, each audited", async () => {
    const from = (db.query("SELECT max(id) AS id FROM audit_log").get() as { id: number }).id;
    const attach = { mode: "attach" as const };
    const viewer = await open(topicFor(), attach, tokens.get("o-viewer"));
    viewer.client.close();
    expect(viewer.first).toMatchObject({ k: "error", d: { code: "forbidden" } });
    const beta = await open(topicFor(), attach, tokens.get("o-beta"));
    beta.client.close();
    expect(beta.first).toMatchObject({ k: "error", d: { code: "not_found" } });

    const bound = uniqueName("attachbind");
    const boundId = runContainer(
      bound,
      ["sleep", "3600"],
      ["-v", "/tmp:/host-tmp", "--label", "ghostpanel.team=alpha"],
    );
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === bound) ? true : undefined;
    });
    const unsafe = await open(topicFor(boundId), attach, tokens.get("o-alpha"));
    unsafe.client.close();
    expect(unsafe.first).toMatchObject({ k: "error", d: { code: "engine_safety" } });

    const topic = topicFor();
    const ok = await open(topic, { cmd: ["sleep", "77"], user: "1000" }, tokens.get("o-alpha"));
    ok.client.close();
    expect(ok.first.k).toBe("started");

    const rows = await eventually(() => {
      const r = db
        .query("SELECT username, action, target, result, status FROM audit_log WHERE id > ? ORDER BY id")
        .all(from) as Record<string, unknown>[];
      return r.length >= 4 ? r : undefined;
    });
    expect(rows).toEqual([
      {
        username: "o-viewer",
        action: `ATTACH exec:local:${name}`,
        target: `id=${id} attach`,
        result: "denied",
        status: 403,
      },
      {
        username: "o-beta",
        action: `ATTACH exec:local:${name}`,
        target: `id=${id} attach`,
        result: "denied",
        status: 404,
      },
      expect.objectContaining({
        username: "o-alpha",
        action: `ATTACH exec:local:${bound}`,
        result: "denied",
      }),
      {
        username: "o-alpha",
        action: `EXEC exec:local:${name}`,
        target: `id=${id} cmd=["sleep","77"] user=1000`,
        result: "ok",
        status: 101,
      },
    ]);
  }, 40_000);
});
