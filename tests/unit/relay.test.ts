import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Relay } from "../helpers/relay.ts";

/** Each impairment of the test relay does what it says, against real loopback echo servers. */
describe("impairment relay", () => {
  let udpEcho: UdpSocket;
  let tcpEcho: Server;
  let udpPort = 0;
  let tcpPort = 0;
  const relays: Relay[] = [];
  const relay = async (protocol: "udp" | "tcp", port: number, imp = {}) => {
    const r = await Relay.start(protocol, port, imp);
    relays.push(r);
    return r;
  };

  beforeAll(async () => {
    udpEcho = createSocket("udp4");
    udpEcho.on("message", (m, from) => udpEcho.send(m, from.port, from.address));
    await new Promise<void>((r) => udpEcho.bind(0, "127.0.0.1", r));
    udpPort = udpEcho.address().port;
    tcpEcho = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => tcpEcho.listen(0, "127.0.0.1", r));
    tcpPort = (tcpEcho.address() as { port: number }).port;
  });

  afterAll(() => {
    for (const r of relays) r.stop();
    udpEcho.close();
    tcpEcho.close();
  });

  /** Sends n datagrams through the relay, one each 2 ms; the echoes seen within a bound, with their RTTs. */
  async function udpRound(r: Relay, n: number, waitMs = 600): Promise<number[]> {
    const client = createSocket("udp4");
    await new Promise<void>((res) => client.bind(0, "127.0.0.1", res));
    const sent = new Map<number, number>();
    const rtts: number[] = [];
    client.on("message", (m) => {
      const t = sent.get(m.readUInt32BE(0));
      if (t !== undefined) rtts.push(performance.now() - t);
    });
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(i, 0);
      sent.set(i, performance.now());
      client.send(b, r.port, "127.0.0.1");
      await Bun.sleep(2);
    }
    await Bun.sleep(waitMs);
    client.close();
    return rtts;
  }

  async function tcpRound(r: Relay, bytes: number): Promise<{ ms: number; echoed: Buffer }> {
    const s = connect(r.port, "127.0.0.1");
    await new Promise((res) => s.once("connect", res));
    const payload = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) payload[i] = i % 251;
    const chunks: Buffer[] = [];
    let got = 0;
    const t0 = performance.now();
    const done = new Promise<void>((res) =>
      s.on("data", (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= bytes) res();
      }),
    );
    s.write(payload);
    await Promise.race([done, Bun.sleep(10_000)]);
    const ms = performance.now() - t0;
    s.destroy();
    return { ms, echoed: Buffer.concat(chunks) };
  }

  it("passes every datagram with no impairment", async () => {
    const r = await relay("udp", udpPort);
    expect((await udpRound(r, 50)).length).toBe(50);
  });

  it("drops every datagram at 100 % loss, about half at 50 %, and passes again when healed", async () => {
    const r = await relay("udp", udpPort, { loss: 1 });
    expect((await udpRound(r, 50)).length).toBe(0);
    expect(r.counts.dropped).toBe(50);
    r.set({ loss: 0.5 });
    // two directions at 50 % each: a quarter of round trips survive (binomial, 400 tries)
    const half = (await udpRound(r, 400)).length;
    expect(half).toBeGreaterThan(50);
    expect(half).toBeLessThan(160);
    r.set({ loss: 0 });
    expect((await udpRound(r, 20)).length).toBe(20);
  });

  it("adds its delay each way, and spreads it by its jitter", async () => {
    const r = await relay("udp", udpPort, { delayMs: 60 });
    const rtts = await udpRound(r, 20);
    expect(rtts.length).toBe(20);
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(119);
    r.set({ delayMs: 60, jitterMs: 40 });
    const jittered = await udpRound(r, 60);
    expect(Math.min(...jittered)).toBeGreaterThanOrEqual(39);
    expect(Math.max(...jittered) - Math.min(...jittered)).toBeGreaterThan(30);
  });

  it("caps TCP bandwidth, and keeps bytes whole and in order under delay, jitter and loss", async () => {
    const r = await relay("tcp", tcpPort, { bandwidth: 200_000 });
    // 100 KB each way through 200 KB/s: at least half a second
    const capped = await tcpRound(r, 100_000);
    expect(capped.echoed.length).toBe(100_000);
    expect(capped.ms).toBeGreaterThanOrEqual(450);
    r.set({ bandwidth: 0, delayMs: 20, jitterMs: 15, loss: 0.2 });
    const rough = await tcpRound(r, 300_000);
    const want = Buffer.alloc(300_000);
    for (let i = 0; i < want.length; i++) want[i] = i % 251;
    expect(rough.echoed.equals(want)).toBe(true);
    expect(rough.ms).toBeGreaterThanOrEqual(40);
  });

  it("holds TCP bytes while black-holed and delivers them once healed", async () => {
    const r = await relay("tcp", tcpPort);
    const s = connect(r.port, "127.0.0.1");
    await new Promise((res) => s.once("connect", res));
    let got = "";
    s.on("data", (c: Buffer) => {
      got += c.toString();
    });
    const until = async (want: string) => {
      for (let i = 0; i < 200 && got !== want; i++) await Bun.sleep(25);
      return got;
    };
    s.write("one;");
    expect(await until("one;")).toBe("one;");
    r.set({ loss: 1 });
    s.write("two;");
    await Bun.sleep(400);
    expect(got).toBe("one;");
    r.set({ loss: 0 });
    expect(await until("one;two;")).toBe("one;two;");
    s.destroy();
  });
});
