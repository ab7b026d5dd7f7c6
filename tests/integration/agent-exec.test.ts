import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJoinToken, encodeJoinToken } from "../../src/agent/join-token.ts";
import { type ExecOptions, encodeMessage } from "../../src/protocol/frames.ts";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { cleanupEngine, docker, eventually, runContainer, shellsIn, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { Relay } from "../helpers/relay.ts";
import { type Frame, StreamClient } from "../helpers/stream.ts";

const text = new TextEncoder();

const printed = (client: StreamClient, topic: string) =>
  client.frames
    .filter((f: Frame) => f.t === topic && f.k === "output")
    .map((f) => new TextDecoder().decode(f.d as Uint8Array))
    .join("");

/**
 * A shell through an edge agent, over each of the link's transports: two agents of the built
 * executable on this machine's engine, one over QUIC and one whose UDP the relay drops (so it
 * joins over the WebSocket fallback). What the terminal shows is checked against the engine.
 */
describe("exec through an edge agent", () => {
  let p: TestPanel;
  let udp: Relay;
  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  const tag = process.pid.toString(36);
  const ENVS = { QUIC: `edge-x-${tag}`, WebSocket: `edge-xw-${tag}` } as const;
  let operator = "";
  let session = 0;

  const joinToken = async (name: string) => {
    const res = await p.api("POST", "/api/v1/agents/join-tokens", { name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.token as string;
  };
  const open = async (topic: string, opts?: ExecOptions, token = p.token) => {
    const client = new StreamClient(p.url, token, []);
    await client.open();
    client.send(encodeMessage({ op: "sub", topics: [topic], ...(opts ? { opts } : {}) }));
    const first = await client.next((f) => f.t === topic);
    return { client, first };
  };
  const type = (client: StreamClient, t: string, keys: string) =>
    client.send(encodeMessage({ op: "input", t, d: text.encode(keys) }));
  /** Runs a container on the engine behind both agents and waits until `env` lists it. */
  const container = async (env: string, cmd: string[], args: string[] = []) => {
    const name = uniqueName("agentx");
    const id = runContainer(name, cmd, args);
    await eventually(
      async () => {
        const list = (await p.api("GET", `/api/v1/envs/${env}/containers`)).body as { name: string }[];
        return list.some((c) => c.name === name) ? true : undefined;
      },
      15_000,
      `${name} listed in ${env}`,
    );
    return { name, id };
  };

  beforeAll(async () => {
    p = await startTestPanel(["--tls", "auto", "--agent-listen", "127.0.0.1:0"]);
    const quic = await joinToken(ENVS.QUIC);
    const agentPort = Number(/:(\d+)$/.exec(decodeJoinToken(quic).address)![1]);
    // The fallback agent's QUIC goes to a relay that drops every datagram: UDP blocked on the way.
    udp = await Relay.start("udp", agentPort);
    udp.set({ loss: 1 });
    const ws = encodeJoinToken({
      ...decodeJoinToken(await joinToken(ENVS.WebSocket)),
      address: `127.0.0.1:${udp.port}`,
    });
    for (const [token, transport] of [
      [quic, "QUIC"],
      [ws, "WebSocket"],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), "gptest-agentx-"));
      dirs.push(dir);
      const agent = startAgent(["--panel", p.url, "--join", token, "--data", dir]);
      agents.push(agent);
      expect(
        await agent.waitFor(new RegExp(`Connected to the panel .* over ${transport} as`), 30_000),
        agent.output(),
      ).toBe(true);
    }
    for (const env of Object.values(ENVS)) {
      await eventually(
        async () => ((await p.api("GET", `/api/v1/envs/${env}`)).body?.status === "up" ? true : undefined),
        20_000,
        `${env} up`,
      );
    }
    // An operator given both agents' environments whole, by a team.
    const made = await p.api("POST", "/api/v1/users", {
      username: "x-ops",
      password: "agent-exec-pass",
      role: "operator",
    });
    expect(made.status).toBe(201);
    const team = await p.api("POST", "/api/v1/teams", { name: "edge-exec" });
    const put = await p.api("PUT", `/api/v1/teams/${team.body.id}`, {
      members: [made.body.id],
      resources: Object.values(ENVS).map((env) => ({ env, kind: "env", ref: "" })),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    operator = await tokenFor(p.url, { username: "x-ops", password: "agent-exec-pass" }, "x");
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    udp?.stop();
    await p?.stop();
    cleanupEngine();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  for (const [transport, env] of Object.entries(ENVS)) {
    const topicFor = (id: string) => `exec:${env}:${id}:agent-session-${++session}`;

    describe(`over ${transport}`, () => {
      it("runs what is typed, resizes, and tells the exit code when the shell exits", async () => {
        const { name, id } = await container(env, ["sleep", "3600"]);
        const topic = topicFor(id);
        const { client, first } = await open(topic);
        try {
          expect(first.k, JSON.stringify(first.d)).toBe("started");
          client.send(encodeMessage({ op: "resize", t: topic, d: { cols: 100, rows: 30 } }));
          type(client, topic, "echo hello-$((6*7)) $GHOSTPANEL_EXEC\n");
          await eventually(() => (printed(client, topic).includes("hello-42") ? true : undefined));
          // The shell is the engine's, in that container: its marker is in its environ there.
          const marker = /hello-42 ([0-9a-f-]{36})/.exec(printed(client, topic))?.[1];
          expect(marker).toBeDefined();
          expect(docker("exec", name, "sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'")).toContain(
            `GHOSTPANEL_EXEC=${marker}`,
          );
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
      }, 60_000);

      it("ends the shell and what runs in it when the subscriber leaves", async () => {
        const { name, id } = await container(env, ["sleep", "3600"]);
        const before = await shellsIn(name);
        const topic = topicFor(id);
        const { client, first } = await open(topic);
        expect(first.k, JSON.stringify(first.d)).toBe("started");
        // More than one stream's window (1 MiB on either transport) goes through first, whole.
        type(client, topic, "yes big-output-line | head -n 100000; echo done-$((1+1)); sleep 1234\n");
        await eventually(() => (printed(client, topic).includes("done-2") ? true : undefined), 40_000);
        expect(printed(client, topic).split("big-output-line\r\n").length - 1).toBe(100_000);
        await eventually(() => (docker("top", name).includes("sleep 1234") ? true : undefined));
        expect(await shellsIn(name)).toBe(before + 1);
        client.send(encodeMessage({ op: "unsub", topics: [topic] }));
        await eventually(async () =>
          (await shellsIn(name)) === before && !docker("top", name).includes("sleep 1234") ? true : undefined,
        );
        // The subscriber's connection dropping hangs up the same way.
        const again = topicFor(id);
        const second = await open(again);
        type(second.client, again, "sleep 4321\n");
        await eventually(() => (docker("top", name).includes("sleep 4321") ? true : undefined));
        second.client.close();
        await eventually(async () =>
          (await shellsIn(name)) === before && !docker("top", name).includes("sleep 4321") ? true : undefined,
        );
        // A session as another user is hung up on as that user (root without CAP_SYS_PTRACE could not).
        const asUser = topicFor(id);
        const third = await open(asUser, { cmd: ["sh"], user: "1234:2345" });
        expect(third.first.k, JSON.stringify(third.first.d)).toBe("started");
        type(third.client, asUser, "sleep 5678\n");
        await eventually(() => (docker("top", name).includes("sleep 5678") ? true : undefined));
        third.client.close();
        await eventually(() => (docker("top", name).includes("sleep 5678") ? undefined : true));
        client.close();
      }, 90_000);

      it("attaches to the main process, and detaching leaves it running", async () => {
        const { name, id } = await container(env, ["sh", "-c", "while read l; do echo got:$l; done"], ["-i"]);
        const topic = topicFor(id);
        const { client, first } = await open(topic, { mode: "attach" });
        try {
          expect(first.k, JSON.stringify(first.d)).toBe("started");
          type(client, topic, "hello-attach\n");
          await eventually(() => (printed(client, topic).includes("got:hello-attach") ? true : undefined));
          expect(docker("logs", name)).toContain("got:hello-attach");
        } finally {
          client.close();
        }
        await Bun.sleep(500);
        expect(docker("inspect", "-f", "{{.State.Running}}", name)).toBe("true");
      }, 60_000);

      it("refuses an operator a shell where engine safety forbids it, before the engine is asked", async () => {
        // A bind of a host path: no host paths are allowed to non-admins by default.
        const { name, id } = await container(env, ["sleep", "3600"], ["-v", "/tmp:/host-tmp"]);
        const refused = await open(topicFor(id), undefined, operator);
        refused.client.close();
        expect(refused.first).toMatchObject({ k: "error", d: { code: "engine_safety" } });
        expect(docker("inspect", "-f", "{{len .ExecIDs}}", name)).toBe("0");
        // The same operator gets a shell in a harmless container: the refusal was the check's.
        const fine = await container(env, ["sleep", "3600"]);
        const allowed = await open(topicFor(fine.id), undefined, operator);
        allowed.client.close();
        expect(allowed.first.k, JSON.stringify(allowed.first.d)).toBe("started");
        const admin = await open(topicFor(id));
        admin.client.close();
        expect(admin.first.k).toBe("started");
      }, 60_000);
    });
  }
});
