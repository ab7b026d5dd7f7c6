import { describe, expect, it } from "vitest";
import { AgentEngine, type EngineReport, REPORT_FRESH_MS } from "../../src/agent/agent-engine.ts";

/** An agent engine whose link only counts the calls it is asked to carry (and answers /_ping). */
function engine(report: () => EngineReport | undefined) {
  const calls: string[] = [];
  const e = new AgentEngine(
    "a1",
    async (url) => {
      calls.push(new URL(String(url)).pathname);
      return new Response("OK");
    },
    async () => {
      throw new Error("no upgrade here");
    },
    () => false,
    report,
  );
  return { e, calls };
}

describe("AgentEngine's heartbeat", () => {
  it("takes a fresh report from the agent's ping instead of a call through the link", async () => {
    const { e, calls } = engine(() => ({ ok: true, at: Date.now() - 5_000 }));
    await e.ping();
    expect(calls).toEqual([]);
  });

  it("fails with the agent's words when its engine did not answer it", async () => {
    const { e, calls } = engine(() => ({
      ok: false,
      error: "connect ENOENT /var/run/docker.sock",
      at: Date.now(),
    }));
    await expect(e.ping()).rejects.toThrow(/the agent's engine: connect ENOENT/);
    expect(calls).toEqual([]);
  });

  it("calls through the link when the report is stale, or the agent sends none (an older agent)", async () => {
    for (const report of [{ ok: true, at: Date.now() - REPORT_FRESH_MS - 1 }, undefined]) {
      const { e, calls } = engine(() => report);
      await e.ping();
      expect(calls).toEqual(["/_ping"]);
    }
  });
});
