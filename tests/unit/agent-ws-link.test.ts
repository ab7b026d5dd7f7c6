import { describe, expect, it } from "vitest";
import { type LinkStream, MAX_DATAGRAM } from "../../src/agent/link.ts";
import { MuxSession } from "../../src/agent/ws-link.ts";

/** Two ends of the WebSocket fallback's multiplexer, wired message to message (as a WebSocket would). */
function pair() {
  const sent = { agent: 0, panel: 0 };
  let agent!: MuxSession;
  let panel!: MuxSession;
  agent = new MuxSession(
    {
      send: (m) => {
        sent.agent += m.length;
        queueMicrotask(() => panel.receive(m));
      },
      close: () => queueMicrotask(() => panel.end()),
    },
    "agent",
  );
  panel = new MuxSession(
    {
      send: (m) => {
        sent.panel += m.length;
        queueMicrotask(() => agent.receive(m));
      },
      close: () => queueMicrotask(() => agent.end()),
    },
    "panel",
  );
  return { agent, panel, sent };
}

async function readAll(stream: LinkStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const batch of stream) parts.push(...batch);
  return Buffer.concat(parts);
}

describe("agent link multiplexer (WebSocket fallback)", () => {
  it("carries a request and a large answer on a stream either side opens, whole and in order", async () => {
    const { agent, panel } = pair();
    agent.onstream = (s) =>
      s.setBody(
        (async function* () {
          const request = await readAll(s);
          yield request;
          for (let i = 0; i < 100; i++) yield new Uint8Array(50_000).fill(i);
        })(),
      );
    const call = await panel.createBidirectionalStream();
    call.setBody(
      (async function* () {
        yield new TextEncoder().encode("GET /containers/json");
      })(),
    );
    const answer = await readAll(call);
    expect(answer.length).toBe(20 + 100 * 50_000);
    expect(new TextDecoder().decode(answer.subarray(0, 20))).toBe("GET /containers/json");
    for (let i = 0; i < 100; i++) expect(answer[20 + i * 50_000 + 49_999]).toBe(i);
    await call.closed;
  });

  it("holds a writer at its window while nobody reads, and lets it go as the reader takes", async () => {
    const { agent, panel, sent } = pair();
    let reader: LinkStream | undefined;
    panel.onstream = (s) => {
      reader = s;
    };
    const s = await agent.createBidirectionalStream();
    let written = 0;
    s.setBody(
      (async function* () {
        for (let i = 0; i < 100; i++) {
          yield new Uint8Array(100_000);
          written += 100_000;
        }
      })(),
    );
    await Bun.sleep(50);
    // 10 MB offered, at most the 1 MiB window (and one chunk) sent while unread
    expect(sent.agent).toBeLessThan((1 << 20) + 200_000);
    expect(written).toBeLessThan(2_000_000);
    expect((await readAll(reader!)).length).toBe(10_000_000);
  });

  it("a reset reaches the other end as an error, never as a clean end", async () => {
    const { agent, panel } = pair();
    let peer: LinkStream | undefined;
    agent.onstream = (s) => {
      peer = s;
      s.setBody(
        (async function* () {
          yield new Uint8Array(10);
          throw new Error("the engine's answer broke off");
        })(),
      );
    };
    const call = await panel.createBidirectionalStream();
    await call.writer.end();
    await expect(readAll(call)).rejects.toThrow(/reset/);
    await expect(call.closed).rejects.toThrow();
    expect(peer).toBeDefined();
  });

  it("ends the link for a peer that sends past its window, and fails every stream when the link goes", async () => {
    const { agent, panel } = pair();
    panel.onstream = () => {};
    const s = await agent.createBidirectionalStream();
    // a hostile agent ignoring its window: raw DATA messages straight down the pipe
    const data = (n: number) => {
      const m = new Uint8Array(5 + n);
      m[0] = 1;
      new DataView(m.buffer).setUint32(1, 1);
      return m;
    };
    await Bun.sleep(0);
    const open = await panel.createBidirectionalStream();
    for (let i = 0; i < 40; i++) panel.receive(data(32 * 1024));
    expect(panel.open).toBe(false);
    await expect(open.closed).rejects.toThrow(/lost/);
    await Bun.sleep(0);
    expect(agent.open).toBe(false);
    await expect(s.closed).rejects.toThrow(/lost/);
  });

  it("carries datagrams both ways beside the streams, and ends the link for one over the limit", async () => {
    const { agent, panel } = pair();
    const got: string[] = [];
    panel.ondatagram = (d) => got.push(`panel ${new TextDecoder().decode(d)}`);
    agent.ondatagram = (d) => got.push(`agent ${new TextDecoder().decode(d)}`);
    agent.sendDatagram(new TextEncoder().encode("up"));
    panel.sendDatagram(new TextEncoder().encode("down"));
    // one the sender itself refuses goes nowhere
    agent.sendDatagram(new Uint8Array(MAX_DATAGRAM + 1));
    await Bun.sleep(10);
    expect(got.sort()).toEqual(["agent down", "panel up"]);
    expect(panel.open).toBe(true);
    // a peer that sends one anyway is speaking something else
    const big = new Uint8Array(5 + MAX_DATAGRAM + 1);
    big[0] = 5;
    panel.receive(big);
    expect(panel.open).toBe(false);
  });
});
