import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJoinToken, encodeJoinToken } from "../../src/agent/join-token.ts";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { Relay } from "../helpers/relay.ts";

/**
 * An agent on a bad path: its UDP (QUIC) and TCP (HTTPS) to the panel both pass through the
 * impairment relay. Blocked UDP sends it to the WebSocket fallback, which carries the same calls;
 * UDP back makes it return to QUIC; both cut marks it down until they heal. The agent is the built
 * executable; its engine is this machine's, and only this test's containers are looked at.
 */
describe("edge agent: WebSocket fallback and a cut-off link, through the relay", () => {
  let p: TestPanel;
  let udp: Relay;
  let tcp: Relay;
  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  let agent: AgentProcess;
  let agentData = "";
  const ENV = `edge-fb-${process.pid.toString(36)}`;

  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gptest-agentfb-"));
    dirs.push(d);
    return d;
  };
  /** The agent reaches the panel only through the relays: HTTPS through tcp, QUIC through udp. */
  const spawn = (args: string[]) => {
    const a = startAgent(["--panel", `https://127.0.0.1:${tcp.port}`, "--quic-retry", "1", ...args]);
    agents.push(a);
    return a;
  };
  const viaRelay = (token: string) =>
    encodeJoinToken({ ...decodeJoinToken(token), address: `127.0.0.1:${udp.port}` });
  const joinToken = async (name: string) => {
    const res = await p.api("POST", "/api/v1/agents/join-tokens", { name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return viaRelay(res.body.token as string);
  };
  const envView = async () => (await p.api("GET", `/api/v1/envs/${ENV}`)).body;
  const status = async (want: string) => ((await envView())?.status === want ? true : undefined);
  const listed = async () =>
    ((await p.api("GET", `/api/v1/envs/${ENV}/containers`)).body as { name: string }[]).map((c) => c.name);
  const inspect = (name: string, format: string) => docker("inspect", "-f", format, name);

  beforeAll(async () => {
    p = await startTestPanel(["--tls", "auto", "--agent-listen", "127.0.0.1:0"]);
    const token = decodeJoinToken(
      (await p.api("POST", "/api/v1/agents/join-tokens", { name: "probe" })).body.token,
    );
    const agentPort = Number(/:(\d+)$/.exec(token.address)![1]);
    udp = await Relay.start("udp", agentPort);
    tcp = await Relay.start("tcp", p.panel.port);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    udp?.stop();
    tcp?.stop();
    await p?.stop();
    cleanupEngine();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it("joins over a WebSocket when UDP is blocked, and carries calls, actions and large answers on it", async () => {
    udp.set({ loss: 1 });
    const name = uniqueName("fb");
    runContainer(name, [
      "sh",
      "-c", // stops at once: the trap runs between the short sleeps
      "trap 'exit 0' TERM; yes hello-edge-line | head -n 100000; while true; do sleep 1; done",
    ]);
    agentData = tempDir();
    agent = spawn(["--join", await joinToken(ENV), "--data", agentData]);
    expect(
      await agent.waitFor(/Connected to the panel .* over WebSocket as .* \(joined\)/, 30_000),
      agent.output(),
    ).toBe(true);
    expect(agent.output()).toMatch(/did not answer over QUIC: trying a WebSocket/);
    expect(udp.counts.passed).toBe(0);
    await eventually(() => status("up"), 20_000, "the agent's environment up");
    expect((await envView()).kind).toBe("agent");

    const one = await p.api("GET", `/api/v1/envs/${ENV}/containers/${name}`);
    expect(one.status).toBe(200);
    expect(JSON.stringify(one.body)).toContain(inspect(name, "{{.Id}}"));
    await eventually(async () => ((await listed()).includes(name) ? true : undefined), 10_000, "listed");
    // ~1.6 MB: past the multiplexer's 1 MB window of a stream
    await eventually(
      async () => {
        const res = await fetch(`${p.url}/api/v1/envs/${ENV}/containers/${name}/logs?tail=all`, {
          headers: { authorization: `Bearer ${p.token}` },
          tls: { rejectUnauthorized: false },
        } as RequestInit);
        const text = await res.text();
        return text.split("hello-edge-line").length - 1 === 100000 ? true : undefined;
      },
      20_000,
      "the whole log through the WebSocket",
    );
    expect((await p.api("POST", `/api/v1/envs/${ENV}/containers/${name}/stop`)).status).toBeLessThan(300);
    expect(inspect(name, "{{.State.Running}}")).toBe("false");
    expect((await p.api("POST", `/api/v1/envs/${ENV}/containers/${name}/start`)).status).toBeLessThan(300);
    expect(inspect(name, "{{.State.Running}}")).toBe("true");
    // Many calls one after another: each stream's end and credit come back on the one WebSocket.
    for (let i = 0; i < 100; i++)
      expect((await p.api("GET", `/api/v1/envs/${ENV}/containers/${name}`)).status, `call ${i}`).toBe(200);
    expect(agent.output()).not.toMatch(/over QUIC as/);
  }, 120_000);

  it("goes back to QUIC once UDP passes again", async () => {
    udp.set({ loss: 0 });
    expect(await agent.waitFor(/QUIC answers again/, 20_000), agent.output()).toBe(true);
    expect(await agent.waitFor(/over QUIC as/, 20_000), agent.output()).toBe(true);
    await eventually(() => status("up"), 20_000, "up over QUIC");
    expect((await p.api("GET", `/api/v1/envs/${ENV}/containers`)).status).toBe(200);
    expect(udp.counts.passed).toBeGreaterThan(0);
  }, 60_000);

  it("cut off on both paths: marked down with its last snapshot kept, then resynced when healed", async () => {
    const before = (await listed()).filter((n) => n.startsWith("gptest-"));
    expect(before.length).toBeGreaterThan(0);
    udp.set({ loss: 1 });
    tcp.set({ loss: 1 });
    await eventually(() => status("down"), 60_000, "down");
    const kept = (await listed()).filter((n) => n.startsWith("gptest-"));
    expect(kept).toEqual(before);
    // Changed while the link was cut: only a resync can show it.
    const late = uniqueName("fb-late");
    docker("create", "--name", late, "--label", `ghostpanel.test=${late}`, TEST_IMAGE, "true");
    try {
      udp.set({ loss: 0 });
      tcp.set({ loss: 0 });
      await eventually(() => status("up"), 60_000, "up again");
      await eventually(
        async () => ((await listed()).includes(late) ? true : undefined),
        20_000,
        "the resync",
      );
    } finally {
      docker("rm", "-f", late);
    }
  }, 150_000);

  it("refuses a revoked agent on both transports", async () => {
    expect((await p.api("DELETE", `/api/v1/envs/${ENV}`)).status).toBe(204);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output()).toMatch(/refused this agent: agent ".*" has been revoked/);
    udp.set({ loss: 1 });
    const overWs = spawn(["--data", agentData]);
    expect(await overWs.exited).not.toBe(0);
    expect(overWs.output()).toMatch(/trying a WebSocket/);
    expect(overWs.output()).toMatch(/has been revoked/);
    udp.set({ loss: 0 });
    const overQuic = spawn(["--data", agentData]);
    expect(await overQuic.exited).not.toBe(0);
    expect(overQuic.output()).not.toMatch(/trying a WebSocket/);
    expect(overQuic.output()).toMatch(/has been revoked/);
  }, 60_000);

  it("refuses a panel whose certificate is not the pinned one on both transports", async () => {
    const real = decodeJoinToken(await joinToken(`${ENV}-pin`));
    const wrong = encodeJoinToken({
      ...real,
      fingerprint: real.fingerprint.replace(/^../, (h) => (h === "00" ? "01" : "00")),
    });
    udp.set({ loss: 1 });
    const overWs = spawn(["--join", wrong, "--data", tempDir()]);
    expect(await overWs.exited).not.toBe(0);
    expect(overWs.output()).toMatch(/trying a WebSocket/);
    expect(overWs.output()).toMatch(/refused the panel: its certificate .* is not the pinned/);
    udp.set({ loss: 0 });
    const overQuic = spawn(["--join", wrong, "--data", tempDir()]);
    expect(await overQuic.exited).not.toBe(0);
    expect(overQuic.output()).not.toMatch(/trying a WebSocket/);
    expect(overQuic.output()).toMatch(/refused the panel: its certificate .* is not the pinned/);
    // Neither got as far as a hello: the token still joins.
    expect((await p.api("GET", `/api/v1/envs/${ENV}-pin`)).status).toBe(404);
    const ok = spawn(["--join", encodeJoinToken(real), "--data", tempDir()]);
    expect(await ok.waitFor(/\(joined\)/), ok.output()).toBe(true);
    await ok.stop();
    expect((await p.api("DELETE", `/api/v1/envs/${ENV}-pin`)).status).toBe(204);
  }, 60_000);
});
