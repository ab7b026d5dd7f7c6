import { describe, expect, it } from "vitest";
import { tunnelUpgrade } from "../../src/agent/exec-tunnel.ts";
import { serveCall } from "../../src/agent/local-engine.ts";
import { MuxSession } from "../../src/agent/ws-link.ts";
import { EngineError } from "../../src/engine/errors.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";

/**
 * An upgraded call's ends in this process, joined by the WebSocket fallback's multiplexer message
 * to message, the agent's end on this machine's engine: what the engine answers when it does not
 * switch protocols comes back as an engine error, with its own status and words.
 */
function linked(engineUrl = process.env.GHOSTPANEL_TEST_ENGINE ?? "unix:///var/run/docker.sock") {
  let agent!: MuxSession;
  let panel!: MuxSession;
  agent = new MuxSession(
    { send: (m) => queueMicrotask(() => panel.receive(m)), close: () => queueMicrotask(() => panel.end()) },
    "agent",
  );
  panel = new MuxSession(
    { send: (m) => queueMicrotask(() => agent.receive(m)), close: () => queueMicrotask(() => agent.end()) },
    "panel",
  );
  const engine = parseEngineUrl(engineUrl);
  agent.onstream = (s) => void serveCall(s, engine);
  return panel;
}

describe("an upgraded call through the agent link, refused", () => {
  it("is the engine's own refusal when it does not switch protocols", async () => {
    const err = await tunnelUpgrade(linked(), "http://agent/exec/no-such-exec-0/start", "{}").catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/no such exec/i);
  });

  it("says the engine is unreachable when the agent cannot reach it", async () => {
    const err = await tunnelUpgrade(
      linked("unix:///nonexistent/gptest-docker.sock"),
      "http://agent/exec/x/start",
      "{}",
    ).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/engine unreachable/);
  });
});
