import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJoinToken, encodeJoinToken } from "../../src/agent/join-token.ts";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { eventually, RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { SecondEngine } from "../helpers/second-engine.ts";

/**
 * An edge agent as it runs for real: the built executable beside a private dockerd, dialling an
 * in-process panel over QUIC. What the panel shows through it is checked against that engine.
 */
describe("edge agent over QUIC", () => {
  let p: TestPanel;
  let edge: SecondEngine;
  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  let agent: AgentProcess;
  let agentData = "";
  const ENV = `edge-${process.pid.toString(36)}`;
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];

  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gptest-agent-"));
    dirs.push(d);
    return d;
  };
  const spawn = (args: string[]) => {
    const a = startAgent(["--panel", p.url, "--engine", edge.url, ...args]);
    agents.push(a);
    return a;
  };
  const joinToken = async (name: string) => {
    const res = await p.api("POST", "/api/v1/agents/join-tokens", { name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.token as string;
  };
  const envView = async () => (await p.api("GET", `/api/v1/envs/${ENV}`)).body;
  const names = (list: { name: string }[]) => list.map((c) => c.name).sort();
  const enginePs = () => edge.docker("ps", "-a", "--format", "{{.Names}}").split("\n").filter(Boolean).sort();
  const running = (name: string) => edge.docker("inspect", "-f", "{{.State.Running}}", name) === "true";

  beforeAll(async () => {
    edge = await SecondEngine.start();
    edge.loadImage();
    p = await startTestPanel(["--agent-listen", "127.0.0.1:0"]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await p?.stop();
    await edge?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it("joins with a one-time token and is listed as an environment of kind agent", async () => {
    const token = await joinToken(ENV);
    expect(decodeJoinToken(token).fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    agentData = tempDir();
    agent = spawn(["--join", token, "--data", agentData]);
    expect(await agent.waitFor(/Connected to the panel .* \(joined\)/), agent.output()).toBe(true);
    const env = await eventually(
      async () => {
        const e = await envView();
        return e?.status === "up" ? e : undefined;
      },
      20_000,
      "the agent's environment up",
    );
    expect(env).toMatchObject({ id: ENV, kind: "agent", status: "up" });
    expect(env.facts.kind).toBe("docker");
  }, 40_000);

  it("holds an idle link past the 20 s of silence that end one: its pings (every 10 s) keep it", async () => {
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    expect(agent.output()).not.toMatch(/Panel link lost/);
    expect((await envView()).status).toBe("up");
  }, 40_000);

  it("refuses the same token a second time", async () => {
    const listed = await p.api("GET", "/api/v1/envs");
    const token = await joinToken(`${ENV}-twice`);
    const first = spawn(["--join", token, "--data", tempDir()]);
    expect(await first.waitFor(/\(joined\)/), first.output()).toBe(true);
    const second = spawn(["--join", token, "--data", tempDir()]);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toMatch(/refused this agent: this join token has been used already/);
    // the one that joined is the only environment the token made
    const after = (await p.api("GET", "/api/v1/envs")).body as { id: string }[];
    expect(after.length).toBe(listed.body.length + 1);
    await first.stop();
    expect((await p.api("DELETE", `/api/v1/envs/${ENV}-twice`)).status).toBe(204);
  }, 40_000);

  it("refuses a panel whose certificate is not the one the token names, and keeps nothing", async () => {
    const real = decodeJoinToken(await joinToken(`${ENV}-pin`));
    const wrong = encodeJoinToken({
      ...real,
      fingerprint: real.fingerprint.replace(/^../, (h) => (h === "00" ? "01" : "00")),
    });
    const dir = tempDir();
    const a = spawn(["--join", wrong, "--data", dir]);
    expect(await a.exited).not.toBe(0);
    expect(a.output()).toMatch(/refused the panel: its certificate .* is not the pinned/);
    expect((await p.api("GET", `/api/v1/envs/${ENV}-pin`)).status).toBe(404);
    // The panel saw no hello: the token is still good for the real panel.
    const ok = spawn(["--join", encodeJoinToken(real), "--data", dir]);
    expect(await ok.waitFor(/\(joined\)/), ok.output()).toBe(true);
    await ok.stop();
    expect((await p.api("DELETE", `/api/v1/envs/${ENV}-pin`)).status).toBe(204);
  }, 40_000);

  it("lists what that engine holds, follows its events, and acts on it", async () => {
    const a = uniqueName("agent-a");
    const b = uniqueName("agent-b");
    edge.docker(
      "run",
      "-d",
      "--name",
      a,
      "--label",
      RUN_LABEL,
      TEST_IMAGE,
      "sh",
      "-c",
      // stops at once (a shell as pid 1 ignores SIGTERM unless it traps it)
      "trap 'exit 0' TERM; echo hello-from-edge; while true; do sleep 1; done",
    );
    edge.docker("create", "--name", b, "--label", RUN_LABEL, TEST_IMAGE, "sleep", "3600");
    // Seen through /events: the slow reconcile (30 s) would be too late for this bound.
    const listed = await eventually(
      async () => {
        const list = (await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body as { name: string }[];
        const n = names(list);
        return n.includes(a) && n.includes(b) ? n : undefined;
      },
      10_000,
      "containers through the agent",
    );
    expect(listed).toEqual(enginePs());

    expect((await p.api("POST", `/api/v1/envs/${ENV}/containers/${a}/stop`)).status).toBeLessThan(300);
    expect(running(a)).toBe(false);
    expect((await p.api("POST", `/api/v1/envs/${ENV}/containers/${b}/start`)).status).toBeLessThan(300);
    expect(running(b)).toBe(true);
    await eventually(
      async () => {
        const list = (await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body as {
          name: string;
          state: string;
        }[];
        return list.find((c) => c.name === b)?.state === "running" ? true : undefined;
      },
      10_000,
      "the mirror following the start",
    );

    const logs = await p.api("GET", `/api/v1/envs/${ENV}/containers/${a}/logs?tail=10`);
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.body)).toContain("hello-from-edge");
  }, 40_000);

  it("carries answers far past QUIC's first flow-control window, and call after call on one link", async () => {
    const big = uniqueName("agent-big");
    // ~2.4 MB of log: Bun 1.4.4 closed the whole link past 64 KB with unequal windows (wire.ts)
    edge.docker(
      "run",
      "--name",
      big,
      "--label",
      RUN_LABEL,
      TEST_IMAGE,
      "sh",
      "-c",
      "yes hello-edge-line | head -n 200000",
    );
    const res = await fetch(`${p.url}/api/v1/envs/${ENV}/containers/${big}/logs?tail=all`, {
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.split("hello-edge-line").length - 1).toBe(200000);
    // More calls than QUIC's usual 100 streams, one after another: each stream's credit comes back.
    for (let i = 0; i < 300; i++) {
      const r = await p.api("GET", `/api/v1/envs/${ENV}/containers/${big}`);
      expect(r.status, `call ${i}`).toBe(200);
    }
    expect((await envView()).status).toBe("up");
  }, 60_000);

  it("checks creates on the panel before forwarding them: a hostile one never reaches the engine", async () => {
    expect(
      (
        await p.api("POST", "/api/v1/users", {
          username: "edge-ops",
          password: "edge-ops-pass",
          role: "operator",
        })
      ).status,
    ).toBe(201);
    const users = (await p.api("GET", "/api/v1/users")).body as { id: number; username: string }[];
    const team = await p.api("POST", "/api/v1/teams", { name: "edge-team" });
    const put = await p.api("PUT", `/api/v1/teams/${team.body.id}`, {
      members: [users.find((u) => u.username === "edge-ops")!.id],
      resources: [{ env: ENV, kind: "env", ref: "" }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const operator = await tokenFor(p.url, { username: "edge-ops", password: "edge-ops-pass" }, "edge");
    const create = (name: string, HostConfig: object) =>
      fetch(`${p.url}/api/v1/envs/${ENV}/containers`, {
        method: "POST",
        headers: { authorization: `Bearer ${operator}`, "content-type": "application/json" },
        body: JSON.stringify({
          name,
          Image: TEST_IMAGE,
          Cmd: ["true"],
          Labels: { [labelKey]: labelValue },
          HostConfig,
        }),
      });
    const hostile = uniqueName("agent-hostile");
    const refused = await create(hostile, { Privileged: true, Binds: ["/:/host"] });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /privileged|bind/i,
    );
    expect(enginePs()).not.toContain(hostile);
    // The same operator's harmless create goes through the agent: the refusal was the check's.
    const fine = uniqueName("agent-fine");
    const made = await create(fine, {});
    expect(made.status, await made.clone().text()).toBe(201);
    expect(edge.docker("inspect", "-f", "{{.HostConfig.Privileged}}", fine)).toBe("false");
  }, 40_000);

  it("marks the environment down when the agent's engine stops answering, from what the agent's pings say", async () => {
    // A hung engine (not a dead one: its event stream through the agent only goes quiet). The
    // agent's own /_ping times out, its next ping says so, and the panel's heartbeat takes that.
    const dockerd = Number(readFileSync(join(edge.dir, "docker.pid"), "utf8"));
    process.kill(dockerd, "SIGSTOP");
    try {
      const down = await eventually(
        async () => {
          const e = (await envView()) as { status: string; error: string | null };
          return e.status === "down" ? e : undefined;
        },
        60_000,
        "down",
      );
      expect(down.error).toMatch(/the agent's engine/);
    } finally {
      process.kill(dockerd, "SIGCONT");
    }
    await eventually(async () => ((await envView()).status === "up" ? true : undefined), 40_000, "up again");
  }, 120_000);

  it("marks the environment down when the agent dies, keeps its last snapshot, and resyncs on return", async () => {
    const before = names((await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body);
    await agent.kill();
    await eventually(async () => ((await envView()).status === "down" ? true : undefined), 40_000, "down");
    expect(names((await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body)).toEqual(before);
    // Changed while nobody watched: only a resync can show it.
    const late = uniqueName("agent-late");
    edge.docker("create", "--name", late, "--label", RUN_LABEL, TEST_IMAGE, "true");
    agent = spawn(["--data", agentData]);
    expect(await agent.waitFor(/Connected to the panel/), agent.output()).toBe(true);
    expect(agent.output()).not.toMatch(/joined/);
    await eventually(async () => ((await envView()).status === "up" ? true : undefined), 30_000, "up again");
    const after = await eventually(
      async () => {
        const n = names((await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body);
        return n.includes(late) ? n : undefined;
      },
      10_000,
      "the resync",
    );
    expect(after).toEqual(enginePs());
  }, 90_000);

  it("refuses a revoked agent: removing its environment ends its link, and it cannot come back", async () => {
    expect((await p.api("DELETE", `/api/v1/envs/${ENV}`)).status).toBe(204);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output()).toMatch(/refused this agent: agent ".*" has been revoked/);
    const again = spawn(["--data", agentData]);
    expect(await again.exited).not.toBe(0);
    expect(again.output()).toMatch(/has been revoked/);
    expect((await p.api("GET", `/api/v1/envs/${ENV}`)).status).toBe(404);
  }, 40_000);
});
