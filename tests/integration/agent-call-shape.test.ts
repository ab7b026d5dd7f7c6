import { afterAll, describe, expect, it } from "vitest";
import { serveCall } from "../../src/agent/local-engine.ts";
import { tunnelFetch } from "../../src/agent/tunnel.ts";
import { MuxSession } from "../../src/agent/ws-link.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import { createContainer, docker, uniqueName } from "../helpers/engine.ts";

const SOCKET = "/var/run/docker.sock";
const engine = parseEngineUrl(`unix://${SOCKET}`);
const [OPEN, DATA, END] = [0, 1, 2];

/**
 * A tunnelled call's two ends in one process (the panel's tunnelFetch, the agent's serveCall on the
 * real engine), joined by the link multiplexer, every message each side sends kept: how a call is
 * cut into messages is what a QUIC stream cuts into packets.
 */
function link() {
  const sent = { panel: [] as number[], agent: [] as number[] };
  let agent!: MuxSession;
  let panel!: MuxSession;
  const side = (name: "panel" | "agent", to: () => MuxSession) => ({
    send: (m: Uint8Array<ArrayBuffer>) => {
      sent[name].push(m[0]!);
      queueMicrotask(() => to().receive(m));
    },
    close: () => queueMicrotask(() => to().end()),
  });
  panel = new MuxSession(
    side("panel", () => agent),
    "panel",
  );
  agent = new MuxSession(
    side("agent", () => panel),
    "agent",
  );
  agent.onstream = (stream) => void serveCall(stream, engine);
  return { panel, sent };
}

const made: string[] = [];
afterAll(() => {
  for (const name of made) docker("rm", "-f", name);
});

describe("one tunnelled call's shape on the link (issue #12, the cost of a call)", () => {
  it("sends a call without a body as its head and end at once, and a whole answer as one piece with its end", async () => {
    const { panel, sent } = link();
    const res = await tunnelFetch(panel, "http://agent/v1.41/version", { method: "GET" });
    const through = (await res.json()) as { ApiVersion: string };
    const direct = (await (
      await fetch("http://localhost/v1.41/version", { unix: SOCKET } as RequestInit)
    ).json()) as { ApiVersion: string };
    expect(res.status).toBe(200);
    expect(through.ApiVersion).toBe(direct.ApiVersion);
    expect(sent.panel).toEqual([OPEN, DATA, END]);
    expect(sent.agent).toEqual([DATA, END]);
  });

  it("sends a request body with its head, and an error answer whole too", async () => {
    const { panel, sent } = link();
    const res = await tunnelFetch(panel, "http://agent/v1.41/containers/create?name=bad%20name", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Image: "ghostpanel-test/busybox:latest" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/name/i);
    expect(sent.panel).toEqual([OPEN, DATA, END]);
    expect(sent.agent).toEqual([DATA, END]);
  });

  it("still answers a streaming call's head before its body exists, then its body as it comes", async () => {
    const { panel, sent } = link();
    const abort = new AbortController();
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
    // /events sends its head at once and then nothing until something happens
    const res = await tunnelFetch(panel, `http://agent/v1.41/events?filters=${filters}`, {
      method: "GET",
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(sent.agent).toEqual([DATA]);
    const id = createContainer(uniqueName("shape"), ["true"]);
    made.push(id);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes(id)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"Action":"create"');
    abort.abort();
    await reader.cancel().catch(() => {});
  });
});
