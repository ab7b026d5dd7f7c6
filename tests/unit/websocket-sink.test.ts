import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamConnection, StreamConnections } from "../../src/stream/websocket.ts";
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

function connect(connections = new StreamConnections(adminBus()), userId = adminCaller.user.id) {
  const sock = socket();
  const caller = { ...adminCaller, user: { ...adminCaller.user, id: userId } };
  const conn = new StreamConnection(connections, caller, []);
  conn.open(sock);
  return { sock, conn };
}

/** After the check a burst of sends schedules (one microtask): queued behind it, so it has run. */
const checked = () => new Promise<void>((resolve) => queueMicrotask(resolve));

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

  it("closes the slowest of a user's clients once together they hold more than the user's bound", async () => {
    const connections = new StreamConnections(adminBus(), { connection: 100, user: 250, total: 10_000 });
    const [a, b, reader, other] = [1, 1, 1, 2].map((user) => connect(connections, user));
    const send = (c: typeof a, queued: number) => {
      c!.sock.buffered = queued;
      c!.conn.deliver(new Uint8Array([1]));
    };
    send(a, 90);
    send(b, 80);
    send(reader, 0);
    // Another user's backlog is not this user's.
    send(other, 95);
    await checked();
    expect([a, b, reader, other].map((c) => c!.sock.closedWith)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const c = connect(connections, 1);
    send(c, 60);
    await checked();
    expect(c.sock.closedWith).toBeUndefined();
    // 90 + 80 + 95 > 250: the one holding most goes, and that is enough.
    send(c, 95);
    await checked();
    expect([a, b, c, reader, other].map((x) => x!.sock.closedWith)).toEqual([
      undefined,
      undefined,
      1013,
      undefined,
      undefined,
    ]);
    // What drained since it was last sent to is measured again before anyone is closed for it.
    b!.sock.buffered = 0;
    const d = connect(connections, 1);
    send(a, 100);
    send(d, 90);
    await checked();
    expect([a, b, d, reader].map((x) => x!.sock.closedWith)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("closes the slowest clients of any user once together they hold more than the panel's bound", async () => {
    const connections = new StreamConnections(adminBus(), { connection: 100, user: 1_000, total: 250 });
    const clients = [1, 2, 3, 4].map((user) => connect(connections, user));
    clients.forEach((c, i) => {
      c.sock.buffered = [90, 99, 80, 0][i]!;
      c.conn.deliver(new Uint8Array([1]));
    });
    await checked();
    expect(clients.map((c) => c.sock.closedWith)).toEqual([undefined, 1013, undefined, undefined]);
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
