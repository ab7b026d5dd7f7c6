import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamConnections, WebSocketConnection } from "../../src/stream/websocket.ts";
import { adminBus, adminCaller } from "../helpers/bus.ts";

/** The part of Bun's ServerWebSocket the connection uses, with a send buffer the test controls. */
function socket() {
  const sock = {
    buffered: 0,
    sent: [] as Uint8Array[],
    closedWith: undefined as number | undefined,
    getBufferedAmount: () => sock.buffered,
    send: (f: Uint8Array) => {
      sock.sent.push(f);
      return f.length;
    },
    close: (code: number) => {
      sock.closedWith = code;
    },
  };
  return sock;
}

function connect() {
  const sock = socket();
  const conn = new WebSocketConnection(new StreamConnections(adminBus()), adminCaller, []);
  conn.open({ raw: sock } as never);
  return { sock, conn };
}

describe("WebSocket sink", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("drops newest-only frames while the client is behind, and closes one that stays behind", () => {
    vi.useFakeTimers();
    const { sock, conn } = connect();
    const frame = new Uint8Array([1, 2, 3]);
    expect(conn.offer(frame)).toBe(true);
    sock.buffered = 1024 * 1024;
    expect(conn.offer(frame)).toBe(false);
    expect(sock.sent).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    expect(conn.offer(frame)).toBe(false);
    expect(sock.closedWith).toBeUndefined();
    sock.buffered = 0;
    expect(conn.offer(frame)).toBe(true);
    // Behind again, now for longer than the bound.
    sock.buffered = 1024 * 1024;
    expect(conn.offer(frame)).toBe(false);
    vi.advanceTimersByTime(31_000);
    expect(conn.offer(frame)).toBe(false);
    expect(sock.closedWith).toBe(1013);
    conn.close();
  });

  it("closes a client whose queue of ordered frames passes the bound", () => {
    const { sock, conn } = connect();
    conn.deliver(new Uint8Array([1]));
    sock.buffered = 5 * 1024 * 1024;
    conn.deliver(new Uint8Array([2]));
    expect(sock.sent).toHaveLength(1);
    expect(sock.closedWith).toBe(1013);
    conn.close();
  });
});
