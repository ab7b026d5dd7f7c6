import { Duplex } from "node:stream";
import { answerError, EngineError } from "../engine/errors.ts";
import type { LinkSession, LinkStream } from "./link.ts";
import { type AnswerHead, chunksOf, encodeFrame, FrameReader, type RequestHead } from "./wire.ts";

/** An engine that has not switched protocols by then is not going to. */
const START_TIMEOUT_MS = 30_000;

/**
 * An upgraded engine call through an agent's link: what a shell or an attach needs, the
 * connection the engine hijacks after `Upgrade: tcp`. One link stream carries it (the head with
 * the call's small JSON body, then the connection's bytes both ways), seen here as the Duplex
 * dockerode hands a local engine's shell. Destroying it resets the stream, which closes the
 * agent's connection to its engine; the engine ending its side (the process exited) ends it.
 */
export async function tunnelUpgrade(session: LinkSession, url: string, body?: string): Promise<Duplex> {
  const { pathname, search } = new URL(url);
  const head: RequestHead = {
    method: "POST",
    path: pathname + search,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    upgrade: body === undefined ? {} : { body },
  };
  const stream = await session.createBidirectionalStream();
  stream.closed.catch(() => {});
  const keys = new Keystrokes();
  stream.setBody(keys.after(encodeFrame(head)));
  const reader = new FrameReader(stream);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = await Promise.race([
      reader.frame<AnswerHead>(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the agent did not answer in time")), START_TIMEOUT_MS);
      }),
    ]);
    if (!answer) throw new Error("the agent closed the call without an answer");
    if (answer.status === 0) throw new EngineError(0, answer.error ?? "engine unreachable");
    if (answer.status !== 101) {
      throw answerError(answer.status, await new Response(reader.rest(() => {})).text().catch(() => ""));
    }
    return joined(stream, reader, keys);
  } catch (err) {
    keys.end();
    stream.destroy();
    throw err instanceof EngineError
      ? err
      : new EngineError(0, `engine unreachable: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The stream's bytes after the answer head as the Duplex's readable side, keystrokes as its writable. */
function joined(stream: LinkStream, reader: FrameReader, keys: Keystrokes): Duplex {
  let more: (() => void) | undefined;
  let outputEnded = false;
  const duplex = new Duplex({
    // The engine ending the connection (the process exited) ends the keystrokes too, as a socket's end would.
    allowHalfOpen: false,
    read() {
      more?.();
    },
    write(chunk: Buffer, _encoding, done) {
      keys.push(chunk, () => done());
    },
    final(done) {
      keys.end();
      done();
    },
    destroy(err, done) {
      keys.end();
      more?.();
      // Left early (a hang-up) or broken: a reset, which closes the agent's engine connection.
      if (err || !outputEnded) stream.destroy();
      done(err);
    },
  });
  // The agent's reset (its engine connection broke) or the link lost.
  stream.closed.catch(() => duplex.destroy());
  void (async () => {
    try {
      for await (const chunk of chunksOf(reader.rest(() => {}))) {
        if (duplex.destroyed) return;
        if (!duplex.push(chunk))
          await new Promise<void>((resolve) => {
            more = resolve;
          });
      }
      outputEnded = true;
      duplex.push(null);
    } catch {
      duplex.destroy();
    }
  })();
  return duplex;
}

/**
 * What is typed, handed to the link stream as it pulls: Bun's stream writer refuses a write while
 * its buffer is full, so bytes go through setBody, and a write is done once the stream took it.
 */
class Keystrokes {
  private readonly queue: { chunk: Uint8Array; taken: () => void }[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(chunk: Uint8Array, taken: () => void): void {
    this.queue.push({ chunk, taken });
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *after(first: Uint8Array): AsyncGenerator<Uint8Array> {
    yield first;
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        next.taken();
        yield next.chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
