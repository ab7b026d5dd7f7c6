import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

const STALLED = 60;
const MiB = 1024 * 1024;

/**
 * A WebSocket client that upgrades and then never reads: what it is sent piles up in the kernel's
 * buffers, then in the panel's.
 */
function stalledClient(url: string, token: string, topics: string[]): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () =>
      sock.write(
        `GET /api/v1/stream?topics=${encodeURIComponent(topics.join(","))} HTTP/1.1\r\n` +
          `Host: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      ),
    );
    sock.on("error", () => {});
    sock.once("data", (d) => {
      sock.pause();
      if (d.toString().startsWith("HTTP/1.1 101")) resolve(sock);
      else reject(new Error(`no upgrade: ${d.toString().split("\r\n")[0]}`));
    });
  });
}

describe("stream buffers: many clients that do not read", () => {
  let panel: BinaryPanel;
  let token = "";
  let flood = "";
  const sockets: net.Socket[] = [];

  const metrics = async () => {
    const text = await (
      await fetch(`${panel.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    const figure = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1]);
    return {
      rss: figure("ghostpanel_resident_memory_bytes"),
      connections: figure("ghostpanel_stream_connections"),
    };
  };

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, ADMIN, "buffers", "setup");
    // About 3 MB/s of log lines: a client that reads keeps up, one that does not fills in seconds.
    flood = runContainer(
      uniqueName("flood"),
      [
        "sh",
        "-c",
        'l="$(head -c 1000 /dev/zero | tr "\\0" x)"; while :; do yes "$l" | head -n 100; sleep 0.03; done',
      ],
      ["--log-opt", "max-size=5m", "--log-opt", "max-file=1"],
    );
    await eventually(async () => {
      const res = await fetch(`${panel.url}/api/v1/envs/local/containers/${flood}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return res.status === 200 ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await panel?.stop();
    cleanupEngine();
  });

  it("keeps the panel's memory bounded, closes the clients that hold most, and serves a reading client", async () => {
    const topic = `logs:local:${flood}`;
    const reader = new StreamClient(panel.url, token, [topic]);
    try {
      await reader.next((f) => f.t === topic && f.k === "lines");
      await Bun.sleep(1_000);
      const before = await metrics();

      sockets.push(
        ...(await Promise.all(
          Array.from({ length: STALLED }, () => stalledClient(panel.url, token, [topic])),
        )),
      );
      let peak = before.rss;
      let fewest = Infinity;
      const until = Date.now() + 8_000;
      while (Date.now() < until) {
        const now = await metrics();
        peak = Math.max(peak, now.rss);
        fewest = Math.min(fewest, now.connections);
        await Bun.sleep(200);
      }
      const heard = reader.frames.length;
      await Bun.sleep(1_000);

      // With only the old bound (4 MiB per connection) this grew past 220 MiB within a second of the
      // kernel's buffers filling. The user's bound is 8 MiB of unsent frames; the rest of the margin
      // is the allocator keeping what it freed, and the reader's own traffic. (That the slowest go
      // first, and the user's and the panel's bounds apart, is tests/unit/websocket-sink.test.ts.)
      expect((peak - before.rss) / MiB).toBeLessThan(96);
      // The stalled clients were closed (1013) as they filled; the reader was not.
      expect(fewest).toBeLessThan(STALLED / 2);
      expect(reader.closeCode).toBeUndefined();
      expect(reader.frames.length).toBeGreaterThan(heard);
    } finally {
      reader.close();
    }
  }, 60_000);
});
