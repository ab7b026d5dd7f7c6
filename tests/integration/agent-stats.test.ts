import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJoinToken, encodeJoinToken } from "../../src/agent/join-token.ts";
import { StatsTable, type StatsView } from "../../src/protocol/stats-frames.ts";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { BINARY } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { Relay } from "../helpers/relay.ts";
import { StreamClient } from "../helpers/stream.ts";

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB, kB: 1e3, MB: 1e6, GB: 1e9 };

/** `docker stats --no-stream`'s memory figure of one container, in bytes. */
function dockerStatsMemory(id: string): number {
  const used = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", id).split("/")[0]!.trim();
  const m = /^([\d.]+)\s*([A-Za-z]+)$/.exec(used);
  if (!m || !UNITS[m[2]!]) throw new Error(`docker stats said "${used}"`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** A subscriber of `stats:<env>` whose every frame must apply to its table, in order. */
class StatsFollower {
  readonly table = new StatsTable();
  private applied = 0;
  readonly client: StreamClient;

  constructor(p: TestPanel, env: string) {
    this.client = new StreamClient(p.url, p.token, [`stats:${env}`]);
  }

  /** Applies what came; throws on a frame that does not apply (a delta after a gap, garbage). */
  catchUp(): number {
    const frames = this.client.frames.slice(this.applied);
    for (const f of frames) {
      if (f.k !== "key" && f.k !== "delta")
        throw new Error(`unexpected frame ${f.t}/${f.k}: ${JSON.stringify(f.d)}`);
      if (!this.table.apply(f.k, f.d))
        throw new Error(`frame ${f.k} ${f.d?.s} did not apply after ${this.table.seq}`);
      this.applied++;
    }
    return frames.length;
  }

  view(id: string): StatsView | undefined {
    this.catchUp();
    return this.table.views().find((v) => v.id === id);
  }

  /** Waits until the container's row matches. */
  until(
    id: string,
    ok: (v: StatsView | undefined) => boolean,
    ms: number,
    what: string,
  ): Promise<StatsView | undefined> {
    return eventually(
      () => {
        const v = this.view(id);
        return ok(v) ? (v ?? null) : undefined;
      },
      ms,
      what,
    ).then((v) => v ?? undefined);
  }
}

const busyNow = (v: StatsView | undefined): v is StatsView => v !== undefined && v.cpu_percent > 1;

/**
 * An agent env's live stats, read on the agent (its cgroup files) and sent as datagrams: through the
 * panel's stats topic like a local engine's, over QUIC and over the WebSocket fallback, across a
 * cut-off link and an agent restart, and on a lossy path. The agents are the built executable on this
 * machine's engine, reaching the panel only through the impairment relays.
 */
describe("edge agent: live stats as datagrams", () => {
  let p: TestPanel;
  let udp: Relay;
  let blocked: Relay;
  let tcp: Relay;
  const dirs: string[] = [];
  const agents: AgentProcess[] = [];
  const followers: StatsFollower[] = [];
  let quicData = "";
  let busy = "";
  const busyName = uniqueName("busy");
  const ENV_Q = `edge-st-${process.pid.toString(36)}`;
  const ENV_W = `edge-sw-${process.pid.toString(36)}`;

  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gptest-agentst-"));
    dirs.push(d);
    return d;
  };
  const spawn = (args: string[]) => {
    const a = startAgent(["--panel", `https://127.0.0.1:${tcp.port}`, "--quic-retry", "1", ...args]);
    agents.push(a);
    return a;
  };
  const joinToken = async (name: string, through: Relay) => {
    const res = await p.api("POST", "/api/v1/agents/join-tokens", { name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return encodeJoinToken({ ...decodeJoinToken(res.body.token), address: `127.0.0.1:${through.port}` });
  };
  const up = (env: string) =>
    eventually(
      async () => ((await p.api("GET", `/api/v1/envs/${env}`)).body?.status === "up" ? true : undefined),
      20_000,
      `${env} up`,
    );
  const follow = async (env: string) => {
    const f = new StatsFollower(p, env);
    followers.push(f);
    await f.client.open();
    return f;
  };

  beforeAll(async () => {
    p = await startTestPanel(["--tls", "auto", "--agent-listen", "127.0.0.1:0"]);
    const token = decodeJoinToken(
      (await p.api("POST", "/api/v1/agents/join-tokens", { name: "probe" })).body.token,
    );
    const agentPort = Number(/:(\d+)$/.exec(token.address)![1]);
    udp = await Relay.start("udp", agentPort);
    blocked = await Relay.start("udp", agentPort);
    blocked.set({ loss: 1 });
    tcp = await Relay.start("tcp", p.panel.port);
    // Half a CPU, spinning, with 24 MiB of its own in /dev/shm (memory the cgroup counts).
    busy = runContainer(
      busyName,
      ["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; while :; do :; done"],
      ["--cpus", "0.5", "--network", "none"],
    );
  }, 60_000);

  afterAll(async () => {
    for (const f of followers) f.client.close();
    await Promise.all(agents.map((a) => a.stop()));
    udp?.stop();
    blocked?.stop();
    tcp?.stop();
    await p?.stop();
    cleanupEngine();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  /** CPU above zero and under its limit; memory as `docker stats` has it, within reason. */
  const checkFigures = async (env: string, f: StatsFollower) => {
    const v = await f.until(
      busy,
      (x) => busyNow(x) && x.mem_usage > 20 * MiB,
      30_000,
      "the busy container's figures",
    );
    expect(v!.cpu_percent).toBeLessThan(80);
    const docker = dockerStatsMemory(busy);
    expect(Math.abs(v!.mem_usage - docker), `panel ${v!.mem_usage} B, docker stats ${docker} B`).toBeLessThan(
      Math.max(4 * MiB, docker / 5),
    );
    // GET …/stats (and /metrics) read the same collector: the agent's figures, from its cgroup files
    const now = await p.api("GET", `/api/v1/envs/${env}/stats`);
    expect(now.status).toBe(200);
    expect(now.headers.get("x-stats-source")).toBe("cgroup");
    const row = (now.body as { id: string; cpu_percent: number; mem_usage: number }[]).find(
      (r) => r.id === busy,
    );
    expect(row?.mem_usage).toBeGreaterThan(20 * MiB);
  };

  it("over QUIC: an agent env's stats reach the panel's stats topic as a local engine's do", async () => {
    quicData = tempDir();
    const a = spawn(["--join", await joinToken(ENV_Q, udp), "--data", quicData]);
    expect(await a.waitFor(/Connected to the panel .* over QUIC as .* \(joined\)/, 30_000), a.output()).toBe(
      true,
    );
    await up(ENV_Q);
    expect((await p.api("GET", `/api/v1/envs/${ENV_Q}`)).body.capabilities?.stats).toBe(true);
    await checkFigures(ENV_Q, await follow(ENV_Q));
    expect(udp.counts.passed).toBeGreaterThan(0);
    // the history is fed by the same ticks
    const h = await eventually(async () => {
      const res = await p.api("GET", `/api/v1/envs/${ENV_Q}/stats/history?id=${busy}&range=15m`);
      return res.status === 200 && res.body.t.length >= 3 ? res.body : undefined;
    });
    expect(Math.max(...h.series.cpu_percent.filter((v: number | null) => v !== null))).toBeGreaterThan(1);
    expect(Math.max(...h.series.mem_usage.filter((v: number | null) => v !== null))).toBeGreaterThan(
      20 * MiB,
    );
  }, 60_000);

  it("over the WebSocket fallback: the same datagrams, as messages on the link", async () => {
    const a = spawn(["--join", await joinToken(ENV_W, blocked), "--data", tempDir()]);
    expect(
      await a.waitFor(/Connected to the panel .* over WebSocket as .* \(joined\)/, 30_000),
      a.output(),
    ).toBe(true);
    await up(ENV_W);
    await checkFigures(ENV_W, await follow(ENV_W));
    expect(blocked.counts.passed).toBe(0);
    expect(a.output()).not.toMatch(/over QUIC as/);
  }, 60_000);

  it("`ghostpanel watch` shows the agent env's figures as a local engine's", async () => {
    let line: string | undefined;
    for (let i = 0; i < 6 && !line; i++) {
      const proc = Bun.spawn(
        [
          BINARY,
          "watch",
          "--panel",
          p.url,
          "--env",
          ENV_Q,
          "--once",
          "--ca",
          join(p.dataDir, "tls-cert.pem"),
        ],
        { stdout: "pipe", stderr: "pipe", env: { ...process.env, GHOSTPANEL_TOKEN: p.token } },
      );
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out).toContain(`· ${ENV_Q} ·`);
      // CPU % is the second column: a spinning container's, once the figures are rates
      line = out.split("\n").find((l) => l.startsWith(`${busyName} `) && Number(l.split(/ {2,}/)[1]) > 1);
      if (!line) await Bun.sleep(1000);
    }
    expect(line).toBeDefined();
  }, 60_000);

  it("stop while the agent is cut off, and resume when it comes back: the path heals, the agent restarts", async () => {
    const f = followers[0]!;
    await f.until(busy, busyNow, 20_000, "figures before the cut");
    udp.set({ loss: 1 });
    await f.until(busy, (v) => v === undefined, 20_000, "the row gone while cut off");
    udp.set({ loss: 0 });
    await f.until(busy, busyNow, 30_000, "figures again once the path heals");

    const first = agents[0]!;
    await first.kill();
    await f.until(busy, (v) => v === undefined, 20_000, "the row gone with the agent");
    const again = spawn(["--data", quicData]);
    expect(await again.waitFor(/Connected to the panel .* over QUIC as/, 30_000), again.output()).toBe(true);
    await f.until(busy, busyNow, 30_000, "figures again from the restarted agent");
  }, 120_000);

  it("on a lossy path only samples are lost: every frame still applies and the figures go on", async () => {
    const f = followers[0]!;
    await f.until(busy, busyNow, 20_000, "figures before the loss");
    const dropped = udp.counts.dropped;
    udp.set({ loss: 0.3 });
    const seen: number[] = [];
    const deadline = Date.now() + 12_000;
    let lastSeq = f.table.seq;
    while (Date.now() < deadline) {
      await Bun.sleep(250);
      f.catchUp();
      if (f.table.seq === lastSeq) continue;
      lastSeq = f.table.seq;
      const v = f.table.views().find((x) => x.id === busy);
      if (v) seen.push(v.cpu_percent);
    }
    udp.set({ loss: 0 });
    expect(udp.counts.dropped).toBeGreaterThan(dropped);
    // the busy container is in the frames through the loss, with figures of a busy container
    expect(seen.filter((c) => c > 1).length, JSON.stringify(seen)).toBeGreaterThan(seen.length / 2);
    await f.until(busy, busyNow, 20_000, "figures after the loss");
  }, 60_000);
});
