import { type LinkSession, type LinkStream, MAX_DATAGRAM } from "./link.ts";

/**
 * The agent link over one WebSocket, when UDP (so QUIC) cannot pass: QUIC's streams multiplexed on
 * binary messages (docs/protocol.md §Agent link, WebSocket fallback). A message is a 1-byte type, a
 * 4-byte big-endian stream id and a payload. The opener of a stream says OPEN first (the agent's
 * ids are odd, the panel's even); DATA carries bytes, END one direction's end, RESET both
 * directions' abrupt end, CREDIT the bytes the reader took, DATAGRAM (stream id 0) one datagram.
 * Each direction of each stream has a window of unread bytes, as QUIC's flow control gives: a
 * stream nobody reads holds at most that much, and a peer that sends past it loses the link.
 */
const OPEN = 0;
const DATA = 1;
const END = 2;
const RESET = 3;
const CREDIT = 4;
/** a datagram (LinkSession.sendDatagram), on stream id 0: no stream, no window */
const DATAGRAM = 5;
const HEADER = 5;

/** Under the panel's WebSocket message limit (64 KB), with room for the header. */
export const MAX_CHUNK = 32 * 1024;
const WINDOW = 1 << 20;
const GRANT_AT = 64 * 1024;
/** as QUIC's initialMaxStreamsBidi (wire.ts) */
const MAX_STREAMS = 8192;

/** The WebSocket underneath: whole binary messages out, close. */
export interface MessagePipe {
  send(message: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

export class MuxSession implements LinkSession {
  onstream: ((stream: LinkStream) => void) | undefined;
  ondatagram: ((data: Uint8Array) => void) | undefined;
  readonly closed: Promise<void>;
  private readonly streams = new Map<number, MuxStream>();
  private nextId: number;
  private ended = false;
  private resolveClosed!: () => void;

  constructor(
    private readonly pipe: MessagePipe,
    private readonly role: "agent" | "panel",
  ) {
    this.nextId = role === "agent" ? 1 : 2;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  async createBidirectionalStream(): Promise<LinkStream> {
    if (this.ended) throw new Error("the link is closed");
    if (this.streams.size >= MAX_STREAMS) throw new Error("too many streams on the link");
    const id = this.nextId;
    this.nextId += 2;
    const stream = new MuxStream(this, id);
    this.streams.set(id, stream);
    this.send(OPEN, id);
    return stream;
  }

  /** One message from the WebSocket. */
  receive(message: Uint8Array): void {
    if (this.ended) return;
    if (message.length < HEADER) {
      this.destroy();
      return;
    }
    const view = new DataView(message.buffer, message.byteOffset, message.length);
    const type = message[0]!;
    const id = view.getUint32(1);
    const payload = message.subarray(HEADER);
    if (type === DATAGRAM) {
      if (payload.length > MAX_DATAGRAM) this.destroy();
      else this.ondatagram?.(payload.slice());
      return;
    }
    if (type === OPEN) {
      const theirs = id % 2 === (this.role === "agent" ? 0 : 1);
      if (!theirs || this.streams.has(id)) {
        this.destroy();
        return;
      }
      if (this.streams.size >= MAX_STREAMS) {
        this.send(RESET, id);
        return;
      }
      const stream = new MuxStream(this, id);
      this.streams.set(id, stream);
      if (this.onstream) this.onstream(stream);
      else stream.destroy();
      return;
    }
    // a stream already gone here: what was on its way when it ended
    const stream = this.streams.get(id);
    if (!stream) return;
    if (type === DATA) stream.data(payload);
    else if (type === END) stream.remoteEnd();
    else if (type === RESET) stream.fail(new Error("the stream was reset by the peer"));
    else if (type === CREDIT && payload.length === 4) stream.credit(view.getUint32(HEADER));
    else this.destroy();
  }

  /** The WebSocket closed: every stream on it fails. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const lost = new Error("the link was lost");
    for (const s of [...this.streams.values()]) s.fail(lost);
    this.streams.clear();
    this.resolveClosed();
  }

  destroy(): void {
    this.end();
    this.pipe.close();
  }

  send(type: number, id: number, payload?: Uint8Array): void {
    if (this.ended) return;
    const message = new Uint8Array(HEADER + (payload?.length ?? 0));
    message[0] = type;
    new DataView(message.buffer).setUint32(1, id);
    if (payload) message.set(payload, HEADER);
    this.pipe.send(message);
  }

  /** Reliable here, as the WebSocket is: what QUIC may lose, this carries in order. */
  sendDatagram(data: Uint8Array): void {
    if (data.length <= MAX_DATAGRAM) this.send(DATAGRAM, 0, data);
  }

  sendCredit(id: number, bytes: number): void {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, bytes);
    this.send(CREDIT, id, payload);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  get open(): boolean {
    return !this.ended;
  }
}

class MuxStream implements LinkStream {
  readonly closed: Promise<void>;
  readonly writer = {
    write: (chunk: Uint8Array) => this.write(chunk),
    end: async () => this.end(),
  };
  private readonly chunks: Uint8Array[] = [];
  private unread = 0;
  private taken = 0;
  private sendCredit = WINDOW;
  private remoteEnded = false;
  private localEnded = false;
  private done = false;
  private error: Error | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  private settle!: (error?: Error) => void;

  constructor(
    private readonly session: MuxSession,
    private readonly id: number,
  ) {
    this.closed = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve());
    });
    this.closed.catch(() => {});
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array[]> {
    for (;;) {
      if (this.chunks.length) {
        const batch = this.chunks.splice(0);
        const n = batch.reduce((sum, c) => sum + c.length, 0);
        this.unread -= n;
        this.taken += n;
        if (this.taken >= GRANT_AT && !this.remoteEnded && !this.done) {
          this.session.sendCredit(this.id, this.taken);
          this.taken = 0;
        }
        yield batch;
        continue;
      }
      if (this.error) throw this.error;
      if (this.remoteEnded || this.done) return;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  setBody(body: Uint8Array | AsyncIterable<Uint8Array>): void {
    void (async () => {
      try {
        for await (const chunk of body instanceof Uint8Array ? [body] : body) {
          if (this.done) return;
          await this.write(chunk);
        }
        this.end();
      } catch (err) {
        this.destroy(err as Error);
      }
    })();
  }

  destroy(error?: Error): void {
    if (this.done) return;
    if (!(this.localEnded && this.remoteEnded)) this.session.send(RESET, this.id);
    this.finish(error);
  }

  // ---- the session's side ----

  data(payload: Uint8Array): void {
    if (this.done || this.remoteEnded) return;
    this.unread += payload.length;
    // the peer ignored its window: a peer that does cannot be bounded, so the link goes
    if (this.unread > WINDOW + MAX_CHUNK) {
      this.session.destroy();
      return;
    }
    this.chunks.push(payload.slice());
    this.wake();
  }

  remoteEnd(): void {
    this.remoteEnded = true;
    this.wake();
    if (this.localEnded) this.finish();
  }

  credit(bytes: number): void {
    this.sendCredit += bytes;
    this.wake();
  }

  fail(error: Error): void {
    if (!this.done) this.finish(error);
  }

  // ---- within ----

  private async write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; at += MAX_CHUNK) {
      while (this.sendCredit <= 0 && !this.done)
        await new Promise<void>((resolve) => {
          this.wakeWriter = resolve;
        });
      if (this.done || this.localEnded) throw this.error ?? new Error("the stream is closed");
      const piece = chunk.subarray(at, at + MAX_CHUNK);
      this.sendCredit -= piece.length;
      this.session.send(DATA, this.id, piece);
    }
  }

  private end(): void {
    if (this.done || this.localEnded) return;
    this.localEnded = true;
    this.session.send(END, this.id);
    if (this.remoteEnded) this.finish();
  }

  private finish(error?: Error): void {
    this.done = true;
    this.error = error;
    this.session.forget(this.id);
    this.settle(error);
    this.wake();
  }

  private wake(): void {
    const reader = this.wakeReader;
    const writer = this.wakeWriter;
    this.wakeReader = this.wakeWriter = undefined;
    reader?.();
    writer?.();
  }
}
