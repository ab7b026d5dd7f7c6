import { createHash, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { AGENT_LINK_PATH } from "./wire.ts";
import { MuxSession } from "./ws-link.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_HEAD = 16 * 1024;
/** The panel's messages are at most a chunk and a header (ws-link.ts); anything far larger is not it. */
const MAX_MESSAGE = 1 << 20;

/** The panel's certificate is not the pinned one: nothing was sent to it. */
export class PinMismatch extends Error {
  constructor(readonly presented: string | undefined) {
    super(`its certificate ${presented ?? "(none)"} is not the pinned one`);
  }
}

/**
 * The agent's WebSocket to the panel's HTTPS port, as a link session. A WebSocket client of our
 * own over node:tls, because the certificate must be checked against the pinned fingerprint before
 * a byte is sent, and Bun's WebSocket client exposes no peer certificate (nor calls
 * checkServerIdentity). Client frames are masked, as RFC 6455 requires.
 */
export async function dialWebSocket(panel: URL, fingerprint: string, timeoutMs: number): Promise<MuxSession> {
  const host = panel.hostname.replace(/^\[|\]$/g, "");
  const port = Number(panel.port || 443);
  const socket = connect({
    host,
    port,
    ...(isIP(host) ? {} : { servername: host }),
    // Not a CA's word: the one certificate whose fingerprint the join token carried (checked below).
    rejectUnauthorized: false,
    ALPNProtocols: ["http/1.1"],
  });
  const timer = setTimeout(() => socket.destroy(new Error("the panel did not answer over HTTPS")), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("the panel closed the connection")));
    });
    const presented = socket.getPeerCertificate()?.fingerprint256;
    if (presented !== fingerprint) throw new PinMismatch(presented);
    const rest = await upgrade(socket, host, port);
    clearTimeout(timer);
    return wrap(socket, rest);
  } catch (err) {
    clearTimeout(timer);
    socket.destroy();
    throw err;
  }
}

async function upgrade(socket: TLSSocket, host: string, port: number): Promise<Buffer> {
  const key = randomBytes(16).toString("base64");
  socket.write(
    `GET ${AGENT_LINK_PATH} HTTP/1.1\r\nHost: ${host.includes(":") ? `[${host}]` : host}:${port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffered = Buffer.alloc(0);
  const head = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buffered.length > MAX_HEAD) reject(new Error("the panel's answer to the upgrade is too long"));
        return;
      }
      socket.off("data", onData);
      const text = buffered.subarray(0, end).toString("latin1");
      buffered = buffered.subarray(end + 4);
      resolve(text);
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("the panel closed the connection")));
  });
  const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
  if (status !== "101") {
    const said = /"message":"([^"]*)"/.exec(buffered.toString("utf8"))?.[1];
    throw new Error(
      `the panel did not take the agent's WebSocket (HTTP ${status ?? "?"}${said ? `: ${said}` : ""})`,
    );
  }
  const accept = createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
  const answered = head
    .split("\r\n")
    .find((line) => line.toLowerCase().startsWith("sec-websocket-accept:"))
    ?.slice("sec-websocket-accept:".length)
    .trim();
  if (answered !== accept) throw new Error("the panel's WebSocket answer does not match the request");
  return buffered;
}

/** RFC 6455 frames both ways; each binary message is one of the multiplexer's. */
function wrap(socket: TLSSocket, first: Buffer): MuxSession {
  const session = new MuxSession(
    {
      send: (message) => {
        if (!socket.destroyed) socket.write(frame(0x2, message));
      },
      close: () => {
        if (!socket.destroyed) socket.end(frame(0x8, new Uint8Array(0)));
        setTimeout(() => socket.destroy(), 1_000).unref();
      },
    },
    "agent",
  );
  let buffered = first;
  let fragments: Buffer[] = [];
  const parse = () => {
    for (;;) {
      if (buffered.length < 2) return;
      const b0 = buffered[0]!;
      const b1 = buffered[1]!;
      // the server never masks; a frame that does is not the panel's
      if (b1 & 0x80) return lost();
      let length = b1 & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        const big = buffered.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return lost();
        length = Number(big);
        at = 10;
      }
      if (length > MAX_MESSAGE) return lost();
      if (buffered.length < at + length) return;
      const payload = buffered.subarray(at, at + length);
      buffered = buffered.subarray(at + length);
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x2 || opcode === 0x0) {
        fragments.push(payload);
        if (fin) {
          const message = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
          fragments = [];
          session.receive(message);
        }
      } else if (opcode === 0x9) socket.write(frame(0xa, payload));
      else if (opcode === 0x8) return lost();
      else if (opcode !== 0xa) return lost();
    }
  };
  const lost = () => {
    session.end();
    socket.destroy();
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    parse();
  });
  socket.on("error", lost);
  socket.on("close", lost);
  // after the caller has set its stream handler
  setImmediate(parse);
  return session;
}

function frame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + lengthBytes + 4 + n);
  out[0] = 0x80 | opcode;
  if (lengthBytes === 0) out[1] = 0x80 | n;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const maskAt = 2 + lengthBytes;
  randomBytes(4).copy(out, maskAt);
  for (let i = 0; i < n; i++) out[maskAt + 4 + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}
