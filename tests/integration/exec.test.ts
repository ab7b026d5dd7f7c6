import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/protocol/frames.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  RUN_LABEL,
  runContainer,
  shellsIn,
  uniqueName,
} from "../helpers/engine.ts";
import { sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { type Frame, StreamClient } from "../helpers/stream.ts";

const text = new TextEncoder();

/** Everything a terminal topic has printed so far. */
const printed = (client: StreamClient, topic: string) =>
  client.frames
    .filter((f: Frame) => f.t === topic && f.k === "output")
    .map((f) => new TextDecoder().decode(f.d as Uint8Array))
    .join("");

describe("exec: a shell in a container over the stream", () => {
  let p: TestPanel;
  let db: Database;
  let owned = "";
  let ownedId = "";
  const tokens = new Map<string, string>();
  let session = 0;
  const topicFor = (container = ownedId) => `exec:local:${container}:test-session-${++session}`;

  beforeAll(async () => {
    p = await startTestPanel();
    db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    owned = uniqueName("exec");
    ownedId = runContainer(owned, ["sleep", "3600"], ["--label", "ghostpanel.team=alpha"]);
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === owned) ? true : undefined;
    });
    const ids = new Map<string, number>();
    for (const [username, role] of [
      ["x-viewer", "viewer"],
      ["x-alpha", "operator"],
      ["x-beta", "operator"],
    ] as const) {
      const user = await p.api("POST", "/api/v1/users", { username, password: "exec-password", role });
      expect(user.status).toBe(201);
      ids.set(username, user.body.id);
      const login = await fetch(`${p.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: "exec-password" }),
      });
      const cookie = sessionCookies(login);
      const res = await fetch(`${p.url}/api/v1/tokens`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          cookie,
          "x-csrf-token": /gp_csrf=([^;]+)/.exec(cookie)![1]!,
        },
        body: JSON.stringify({ name: "exec" }),
      });
      tokens.set(username.slice(2), ((await res.json()) as { token: string }).token);
    }
    // The viewer is in the owning team: it sees the container, and still may not run anything in it.
    for (const [team, members] of [
      ["alpha", ["x-alpha", "x-viewer"]],
      ["beta", ["x-beta"]],
    ] as const) {
      const made = await p.api("POST", "/api/v1/teams", { name: team });
      const put = await p.api("PUT", `/api/v1/teams/${made.body.id}`, {
        members: members.map((m) => ids.get(m)),
      });
      expect(put.status).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    db?.close();
    await p?.stop();
    cleanupEngine();
  });

  const open = async (topic: string, token = p.token) => {
    const client = new StreamClient(p.url, token, [topic]);
    await client.open();
    const first = await client.next((f) => f.t === topic);
    return { client, first };
  };
  const type = (client: StreamClient, t: string, keys: string) =>
    client.send(encodeMessage({ op: "input", t, d: text.encode(keys) }));

  it("runs what is typed, resizes, and tells the exit code when the shell exits", async () => {
    const topic = topicFor();
    const { client, first } = await open(topic);
    try {
      expect(first.k).toBe("started");
      client.send(encodeMessage({ op: "resize", t: topic, d: { cols: 100, rows: 30 } }));
      type(client, topic, "echo hello-$((6*7))\n");
      await eventually(() => (printed(client, topic).includes("hello-42") ? true : undefined));
      // The size goes to the engine beside the keystrokes, not in line with them: ask until it shows.
      let asked = 0;
      await eventually(() => {
        if (printed(client, topic).includes("30 100")) return true;
        if (asked++ % 10 === 0) type(client, topic, "stty size\n");
      });
      type(client, topic, "exit 3\n");
      const exit = await client.next((f) => f.t === topic && f.k === "exit");
      expect(exit.d).toEqual({ code: 3 });
    } finally {
      client.close();
    }
  }, 30_000);

  it("ends the shell and what runs in it when the subscriber leaves", async () => {
    const before = await shellsIn(owned);
    const topic = topicFor();
    const { client } = await open(topic);
    type(client, topic, "sleep 1234\n");
    await eventually(() => (docker("top", owned).includes("sleep 1234") ? true : undefined));
    expect(await shellsIn(owned)).toBe(before + 1);
    client.send(encodeMessage({ op: "unsub", topics: [topic] }));
    await eventually(async () =>
      (await shellsIn(owned)) === before && !docker("top", owned).includes("sleep 1234") ? true : undefined,
    );
    // Unsubscribed while the shell was still starting: it is ended as soon as it has started.
    const quick = topicFor();
    client.send(encodeMessage({ op: "sub", topics: [quick] }));
    client.send(encodeMessage({ op: "unsub", topics: [quick] }));
    await client.next((f) => f.t === quick && f.k === "started");
    await eventually(async () => ((await shellsIn(owned)) === before ? true : undefined));
    client.close();
  }, 30_000);

  it("lets one subscriber in per session, and input only from it", async () => {
    const topic = topicFor();
    const { client } = await open(topic);
    const { client: second, first } = await open(topic);
    try {
      expect(first).toMatchObject({ k: "error", d: { code: "busy" } });
      type(second, topic, "echo intruder\n");
      const refused = await second.next((f) => f.t === topic && f.d?.code === "not_subscribed");
      expect(refused.k).toBe("error");
      type(client, topic, `echo ${"x".repeat(70_000)}`);
      // Over the WebSocket's 64 KiB message limit: the transport closes that connection.
      await eventually(() => (client.closeCode !== undefined ? true : undefined));
      expect(printed(client, topic)).not.toContain("intruder");
    } finally {
      client.close();
      second.close();
    }
  }, 30_000);

  it("lets the owning team in, and no one else that is not an admin", async () => {
    const { client: viewer, first: denied } = await open(topicFor(), tokens.get("viewer"));
    viewer.close();
    expect(denied).toMatchObject({ k: "error", d: { code: "forbidden" } });
    const { client: beta, first: missing } = await open(topicFor(), tokens.get("beta"));
    beta.close();
    expect(missing).toMatchObject({ k: "error", d: { code: "not_found" } });
    const { client: alpha, first: started } = await open(topicFor(), tokens.get("alpha"));
    alpha.close();
    expect(started.k).toBe("started");
  }, 30_000);

  it("refuses a non-admin a shell in a container the engine-safety settings forbid", async () => {
    // A bind of a host path: no host paths are allowed to non-admins by default.
    const name = uniqueName("bind");
    const id = runContainer(
      name,
      ["sleep", "3600"],
      ["-v", "/tmp:/host-tmp", "--label", "ghostpanel.team=alpha"],
    );
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === name) ? true : undefined;
    });
    const { client, first } = await open(topicFor(id), tokens.get("alpha"));
    client.close();
    expect(first).toMatchObject({ k: "error", d: { code: "engine_safety" } });
    const admin = await open(topicFor(id));
    admin.client.close();
    expect(admin.first.k).toBe("started");
  }, 30_000);

  it("leaves one audit entry per session", async () => {
    const from = (db.query("SELECT max(id) AS id FROM audit_log").get() as { id: number }).id;
    const topic = topicFor();
    const { client } = await open(topic);
    type(client, topic, "echo one\n");
    await eventually(() => (printed(client, topic).includes("one") ? true : undefined));
    client.close();
    const rows = await eventually(() => {
      const r = db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id").all(from) as Record<
        string,
        unknown
      >[];
      return r.length ? r : undefined;
    });
    expect(rows).toEqual([
      expect.objectContaining({
        username: "admin",
        address: "127.0.0.1",
        env: "local",
        action: `EXEC exec:local:${owned}`,
        target: `id=${ownedId} cmd=["sh"] user=`,
        result: "ok",
      }),
    ]);
    // The refusals of the tests before, each one entry too.
    const refused = db
      .query(
        "SELECT username, result, status FROM audit_log WHERE action LIKE 'EXEC %' AND result != 'ok' ORDER BY id",
      )
      .all();
    expect(refused).toEqual([
      { username: "x-viewer", result: "denied", status: 403 },
      { username: "x-beta", result: "denied", status: 404 },
      { username: "x-alpha", result: "denied", status: 403 },
    ]);
  }, 30_000);

  it("refuses a shell in a team's container that an admin gave what a non-admin could not ask for", async () => {
    const hostDir = `/tmp/${uniqueName("voldir")}`;
    const bindVolume = uniqueName("bindvol");
    mkdirSync(hostDir);
    docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", `device=${hostDir}`, bindVolume);
    const made: string[] = [];
    try {
      /** The first frame an alpha operator's shell gets in a container made with these flags. */
      const shellIn = async (hint: string, extra: string[]) => {
        const name = uniqueName(hint);
        const id = runContainer(name, ["sleep", "3600"], [...extra, "--label", "ghostpanel.team=alpha"]);
        made.push(id);
        await eventually(async () => {
          const res = await p.api("GET", "/api/v1/envs/local/containers");
          return res.body.some((c: { name: string }) => c.name === name) ? true : undefined;
        });
        const { client, first } = await open(topicFor(id), tokens.get("alpha"));
        client.close();
        return first;
      };
      for (const [hint, extra] of [
        ["seccomp", ["--security-opt", "seccomp=unconfined"]],
        ["paths", ["--security-opt", "systempaths=unconfined"]],
        ["caps", ["--cap-add", "SYS_ADMIN"]],
        ["pid", ["--pid", "host"]],
        ["hostvol", ["-v", `${bindVolume}:/data`]],
      ] as const) {
        expect(await shellIn(hint, [...extra]), hint).toMatchObject({
          k: "error",
          d: { code: "engine_safety" },
        });
      }
      // Lists that lost some of the engine's defaults leave /proc/sys writable: as bad as empty ones.
      const shortened = await p.api("POST", "/api/v1/envs/local/containers", {
        name: uniqueName("short"),
        Image: "ghostpanel-test/busybox:latest",
        Cmd: ["sleep", "3600"],
        Labels: { "ghostpanel.team": "alpha", [RUN_LABEL.split("=")[0]!]: RUN_LABEL.split("=")[1]! },
        HostConfig: { MaskedPaths: ["/proc/acpi"], ReadonlyPaths: ["/proc/bus"] },
      });
      expect(shortened.status).toBe(201);
      made.push(shortened.body.id);
      expect((await p.api("POST", `/api/v1/envs/local/containers/${shortened.body.id}/start`)).status).toBe(
        204,
      );
      const { client, first } = await open(topicFor(shortened.body.id), tokens.get("alpha"));
      client.close();
      expect(first).toMatchObject({ k: "error", d: { code: "engine_safety" } });
      // An anonymous volume (the image's own VOLUME, or -v /path) is the container's: a shell is fine.
      expect(await shellIn("anon", ["-v", "/data"])).toMatchObject({ k: "started" });
    } finally {
      docker("rm", "-f", "-v", ...made);
      docker("volume", "rm", "-f", bindVolume);
      rmSync(hostDir, { recursive: true, force: true });
    }
  }, 60_000);
});
