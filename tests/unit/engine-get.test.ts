import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { afterAll, describe, expect, it } from "vitest";
import type { DirectRequest } from "../../src/engine/engine.ts";
import { EngineError } from "../../src/engine/errors.ts";
import { engineGet, HIGH_WATER_BYTES } from "../../src/volumes/engine-get.ts";

/** One connection of the test engine: what the script writes, as the engine would. */
interface Conn {
  request: string;
  /** Resolves once the socket took all of `bytes` (waiting for it to drain, as a real server does). */
  write(bytes: string | Uint8Array): Promise<void>;
  /** `bytes` one piece at a time, a pause between pieces, so each arrives as a read of its own. */
  trickle(bytes: string | Uint8Array, size: number): Promise<void>;
  end(): void;
  closed: Promise<void>;
}
interface ConnState {
  request: string;
  answered: boolean;
  drained?: () => void;
  closed: PromiseWithResolvers<void>;
}

const dir = mkdtempSync(join(tmpdir(), "gp-engine-get-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const encoder = new TextEncoder();
const asBytes = (b: string | Uint8Array) => (typeof b === "string" ? encoder.encode(b) : b);
let servers = 0;

/**
 * A small engine on a unix socket (or TCP) that answers each request with `script`; counts the bytes
 * its sockets have taken, which stalls once the client stops reading.
 */
function engine(script: (conn: Conn) => Promise<void>, tcp = false) {
  let written = 0;
  const handlers = {
    open(s: Socket<ConnState>) {
      s.data = { request: "", answered: false, closed: Promise.withResolvers<void>() };
    },
    data(s: Socket<ConnState>, bytes: Buffer) {
      const state = s.data;
      state.request += bytes.toString("latin1");
      if (state.answered || !state.request.includes("\r\n\r\n")) return;
      state.answered = true;
      const write = async (b: string | Uint8Array) => {
        const all = asBytes(b);
        let at = 0;
        while (at < all.length) {
          const n = s.write(all.subarray(at));
          if (n < 0) throw new Error("the client went away");
          at += n;
          written += n;
          if (at < all.length) await new Promise<void>((resolve) => (state.drained = resolve));
        }
      };
      const conn: Conn = {
        request: state.request,
        write,
        async trickle(b, size) {
          const all = asBytes(b);
          for (let at = 0; at < all.length; at += size) {
            await write(all.subarray(at, at + size));
            await Bun.sleep(3);
          }
        },
        end: () => s.end(),
        closed: state.closed.promise,
      };
      void script(conn).catch(() => s.end());
    },
    drain(s: Socket<ConnState>) {
      s.data.drained?.();
    },
    close(s: Socket<ConnState>) {
      s.data.closed.resolve();
      s.data.drained?.();
    },
  };
  let req: DirectRequest;
  let stop: () => void;
  if (tcp) {
    const listener = Bun.listen<ConnState>({ hostname: "127.0.0.1", port: 0, socket: handlers });
    req = { url: `http://127.0.0.1:${listener.port}/containers/x/archive?path=%2Fv%2F.` };
    stop = () => listener.stop(true);
  } else {
    const unix = join(dir, `engine-${servers++}.sock`);
    const listener = Bun.listen<ConnState>({ unix, socket: handlers });
    req = { url: "http://localhost/v1.47/containers/x/archive?path=%2Fv%2F.", unix };
    stop = () => listener.stop(true);
  }
  return { req, written: () => written, stop };
}

/** Answers with `head` then `body`, cut into `size`-byte pieces, then keeps the connection open or closes it. */
function answering(head: string, body: string | Uint8Array, { size = 1 << 20, close = false } = {}) {
  return engine(async (conn) => {
    await conn.trickle(concat(asBytes(head), asBytes(body)), size);
    if (close) conn.end();
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const text = async (stream: ReadableStream<Uint8Array>) => new Response(stream).text();
const CHUNKED = "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n";
const chunked = (...chunks: string[]) =>
  `${chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join("")}0\r\n\r\n`;
const sized = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

describe("engineGet: the engine's archive on a socket of its own", () => {
  it("sends a plain GET of the path and reads a chunked body to its final chunk (the engine need not close)", async () => {
    const requests: string[] = [];
    const e = engine(async (conn) => {
      requests.push(conn.request);
      await conn.write(`${CHUNKED}5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n`);
    });
    expect(await text(await engineGet(e.req))).toBe("hello world");
    expect(requests[0]).toMatch(/^GET \/v1\.47\/containers\/x\/archive\?path=%2Fv%2F\. HTTP\/1\.1\r\n/);
    expect(requests[0]).toContain("\r\nHost: localhost\r\n");
    e.stop();
  });

  it("reads a Content-Length body to its length (the engine need not close)", async () => {
    const e = answering(sized("hello world"), "hello world");
    expect(await text(await engineGet(e.req))).toBe("hello world");
    e.stop();
  });

  it("reads a body with neither until the engine closes", async () => {
    const e = answering("HTTP/1.0 200 OK\r\n\r\n", "hello world", { close: true });
    expect(await text(await engineGet(e.req))).toBe("hello world");
    e.stop();
  });

  it("reads a plain-http engine over TCP too", async () => {
    const e = engine(async (conn) => conn.write(`${sized("over tcp")}over tcp`), true);
    expect(await text(await engineGet(e.req))).toBe("over tcp");
    e.stop();
  });

  it("takes every framing cut anywhere: one byte a read, across size lines, data and CRLFs", async () => {
    const body = chunked("a", "bcdefghijklmnopq", "r".repeat(300), "s");
    const whole = `a${"bcdefghijklmnopq"}${"r".repeat(300)}s`;
    for (const [head, rest] of [
      [CHUNKED, body],
      [sized(whole), whole],
    ] as const) {
      const e = answering(head, rest, { size: 1 });
      expect(await text(await engineGet(e.req))).toBe(whole);
      e.stop();
    }
  });

  it("passes binary data through byte for byte, in chunks cut at odd places", async () => {
    const data = crypto.getRandomValues(new Uint8Array(200_000));
    const parts: Uint8Array[] = [];
    for (let at = 0, n = 1; at < data.length; at += n, n = n * 7 + 3) {
      const piece = data.subarray(at, Math.min(data.length, at + n));
      parts.push(encoder.encode(`${piece.length.toString(16)}\r\n`), piece, encoder.encode("\r\n"));
    }
    parts.push(encoder.encode("0\r\n\r\n"));
    const e = answering(CHUNKED, concat(...parts), { size: 4093 });
    expect(new Uint8Array(await new Response(await engineGet(e.req)).arrayBuffer())).toEqual(data);
    e.stop();
  });

  it("fails the stream, never ends it, when a chunked body is cut anywhere before its final chunk's end", async () => {
    const body = chunked("hello", " world");
    for (let cut = 0; cut < body.length; cut++) {
      const e = answering(CHUNKED, body.slice(0, cut), { close: true });
      await expect(text(await engineGet(e.req)), `cut at ${cut}`).rejects.toThrow(/ended early/);
      e.stop();
    }
  });

  it("fails the stream when a Content-Length body is cut short", async () => {
    for (const cut of [0, 1, 10]) {
      const e = answering(sized("hello world"), "hello world".slice(0, cut), { close: true });
      await expect(text(await engineGet(e.req)), `cut at ${cut}`).rejects.toThrow(/ended early.*of 11 bytes/);
      e.stop();
    }
  });

  it("fails when the engine closes before its answer's head is whole", async () => {
    const e = answering("HTTP/1.1 200 OK\r\nContent-Le", "", { close: true });
    await expect(engineGet(e.req)).rejects.toThrow(EngineError);
    e.stop();
  });

  it("refuses a malformed chunk size rather than guessing", async () => {
    const e = answering(CHUNKED, "zz\r\nhello\r\n0\r\n\r\n");
    await expect(text(await engineGet(e.req))).rejects.toThrow(/not valid HTTP: a chunk size/);
    e.stop();
  });

  it("answers a non-2xx status with the engine's status and message, whatever the framing", async () => {
    const json = '{"message":"No such container: x — é"}';
    const cases: [string, number, string][] = [
      [
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
        404,
        "No such container: x — é",
      ],
      [
        `HTTP/1.1 500 Internal Server Error\r\n${CHUNKED.split("\r\n").slice(1).join("\r\n")}${chunked(json.slice(0, 9), json.slice(9))}`,
        500,
        "No such container: x — é",
      ],
      [
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
        502,
        "Moved Permanently",
      ],
    ];
    for (const [answer, status, message] of cases) {
      const e = answering(answer, "", { size: 7 });
      const err = await engineGet(e.req).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(EngineError);
      expect({ status: (err as EngineError).status, message: (err as EngineError).message }).toEqual({
        status,
        message,
      });
      e.stop();
    }
  });

  it("says the engine is unreachable (status 0) when nothing listens", async () => {
    const err = await engineGet({ url: "http://localhost/x", unix: join(dir, "nobody.sock") }).catch(
      (x) => x,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).status).toBe(0);
  });

  it("stops reading while the consumer does not read (the engine's writes stall), and resumes when it does", async () => {
    const total = 16 * 1024 * 1024;
    const piece = new Uint8Array(64 * 1024).fill(7);
    const e = engine(async (conn) => {
      await conn.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      for (let sent = 0; sent < total; sent += piece.length) await conn.write(piece);
    });
    const stream = await engineGet(e.req);
    await Bun.sleep(500);
    const stalled = e.written();
    // The queue's high-water mark and the sockets' kernel buffers, not the 16 MiB on offer.
    expect(stalled).toBeLessThan(HIGH_WATER_BYTES + 2 * 1024 * 1024);
    await Bun.sleep(200);
    expect(e.written()).toBe(stalled);
    expect((await new Response(stream).arrayBuffer()).byteLength).toBe(total);
    e.stop();
  });

  it("closes the connection when the stream is cancelled", async () => {
    let closed: Promise<void> | undefined;
    const e = engine(async (conn) => {
      closed = conn.closed;
      await conn.write(`${CHUNKED}5\r\nhello\r\n`);
    });
    const reader = (await engineGet(e.req)).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("hello");
    await reader.cancel();
    await closed;
    e.stop();
  });
});
