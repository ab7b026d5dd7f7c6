import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { EngineTarget } from "../engine/url.ts";
import type { LinkStream } from "./link.ts";
import { type AnswerHead, chunksOf, encodeFrame, type FrameReader, type RequestHead } from "./wire.ts";

type Answered =
  | { upgraded: true; res: IncomingMessage; socket: Duplex; buffered: Buffer }
  | { upgraded: false; res: IncomingMessage }
  | { error: Error };

/**
 * The agent's end of an upgraded call (a shell, an attach): the request made to the local engine
 * with `Upgrade: tcp`, as the docker CLI makes it, and once the engine has switched protocols its
 * connection and the link stream joined both ways. An answer that is no upgrade (no such exec, the
 * container stopped) goes back as a plain answer. Either end closing or resetting ends the other.
 */
export async function serveUpgrade(
  stream: LinkStream,
  head: RequestHead,
  headers: [string, string][],
  reader: FrameReader,
  engine: EngineTarget,
): Promise<void> {
  // node:http, not fetch: fetch cannot hand over a connection the server has switched protocols on.
  const { request } = await import("node:http");
  const body = typeof head.upgrade?.body === "string" ? head.upgrade.body : "";
  const req = request({
    ...(engine.socketPath ? { socketPath: engine.socketPath } : { host: engine.host, port: engine.port }),
    method: head.method,
    path: head.path,
    headers: {
      ...Object.fromEntries(headers),
      "content-length": String(Buffer.byteLength(body)),
      connection: "Upgrade",
      upgrade: "tcp",
    },
  });
  const answered = new Promise<Answered>((resolve) => {
    req.once("upgrade", (res, socket, buffered) => resolve({ upgraded: true, res, socket, buffered }));
    req.once("response", (res) => resolve({ upgraded: false, res }));
    // on, not once: an error after the answer (the connection dropped) must find a listener too
    req.on("error", (error) => resolve({ error }));
  });
  // The panel gave up (the subscriber left while the shell was starting): so does the request.
  stream.closed.catch(() => req.destroy());
  req.end(body);
  const answer = await answered;
  if ("error" in answer) {
    const sent: AnswerHead = { status: 0, headers: [], error: `engine unreachable: ${answer.error.message}` };
    stream.setBody(output(stream, sent, []));
    return;
  }
  const sent: AnswerHead = { status: answer.res.statusCode ?? 0, headers: headersOf(answer.res) };
  if (!answer.upgraded) {
    stream.setBody(output(stream, sent, answer.res));
    return;
  }
  const { socket, buffered } = answer;
  socket.on("error", () => {});
  // A reset from the panel (the subscriber left, the link dropped) hangs up on the engine.
  stream.closed.catch(() => socket.destroy());
  void input(reader, socket);
  stream.setBody(output(stream, sent, socket, buffered));
}

/**
 * The answer head, then what the engine sends (a plain answer's body, or its side of the upgraded
 * connection) until it ends.
 */
async function* output(
  stream: LinkStream,
  sent: AnswerHead,
  source: AsyncIterable<unknown> | Iterable<unknown>,
  buffered?: Buffer,
): AsyncGenerator<Uint8Array> {
  yield encodeFrame(sent);
  if (buffered?.length) yield buffered;
  try {
    for await (const chunk of source) yield chunk as Buffer;
  } catch {
    // What broke off is a reset, not an end: the panel must not take it for an exit.
    setTimeout(() => stream.destroy(new Error("engine connection broke off")), 0);
  }
}

/** The panel's keystrokes to the engine, as fast as the engine takes them; their end is stdin's. */
async function input(reader: FrameReader, socket: Duplex): Promise<void> {
  try {
    for await (const chunk of chunksOf(reader.rest(() => {}))) {
      if (socket.destroyed) return;
      if (!socket.write(chunk))
        await new Promise<void>((resolve) => {
          socket.once("drain", resolve);
          socket.once("close", resolve);
        });
    }
    if (!socket.destroyed) socket.end();
  } catch {
    socket.destroy();
  }
}

function headersOf(res: IncomingMessage): [string, string][] {
  return Object.entries(res.headers).flatMap(([k, v]) =>
    v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((one): [string, string] => [k, one]),
  );
}
