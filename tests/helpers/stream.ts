import { readFeed } from "../../src/protocol/feed.ts";
import { decodeFrame } from "../../src/protocol/frames.ts";

export interface Frame {
  t: string;
  k: string;
  d: any;
}

/** A listening client of /api/v1/stream that keeps every decoded frame. */
export class StreamClient {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;
  private opened: Promise<void>;

  /** `auth`: a bearer token, or the headers a browser would send (its cookie and Origin). */
  constructor(baseUrl: string, auth: string | Record<string, string>, topics: string[]) {
    const url = `${baseUrl.replace(/^http/, "ws")}/api/v1/stream?topics=${encodeURIComponent(topics.join(","))}`;
    // Bun's WebSocket takes headers, which browsers' does not: native clients use the bearer token.
    const headers = typeof auth === "string" ? { authorization: `Bearer ${auth}` } : auth;
    // a test panel over HTTPS has a certificate of its own making (--tls auto)
    const tls = baseUrl.startsWith("https:") ? { tls: { rejectUnauthorized: false } } : {};
    this.ws = new WebSocket(url, { headers, ...tls } as unknown as string[]);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => this.frames.push(decodeFrame(new Uint8Array(e.data as ArrayBuffer)) as Frame);
    this.ws.onclose = (e) => {
      this.closeCode = e.code;
    };
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error("stream did not open"));
    });
  }

  open(): Promise<void> {
    return this.opened;
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** The first frame (from `from` on) that matches, waiting for it if needed. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    return nextFrame(this.frames, match, timeoutMs, from);
  }

  close(): void {
    this.ws.close();
  }
}

/** The first of `frames` (from `from` on) that matches, waiting for it to come if needed. */
async function nextFrame(
  frames: Frame[],
  match: (f: Frame) => boolean,
  timeoutMs: number,
  from: number,
): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const f = frames.slice(from).find(match);
    if (f) return f;
    await Bun.sleep(20);
  }
  throw new Error(
    `no matching frame within ${timeoutMs} ms; got kinds ${frames.map((f) => `${f.t}/${f.k}`).join(", ")}`,
  );
}

/** A client of the feed (`/api/v1/stream/feed`, the stream as a response body) that keeps every frame. */
export class FeedClient {
  readonly frames: Frame[] = [];
  status: number | undefined;
  private readonly abort = new AbortController();
  private opened: Promise<void>;

  /** `init`: extra fetch options (HTTP/3, TLS). */
  constructor(baseUrl: string, token: string, topics: string[], init: RequestInit = {}) {
    this.opened = (async () => {
      const res = await fetch(
        `${baseUrl}/api/v1/stream/feed?topics=${encodeURIComponent(topics.join(","))}`,
        {
          ...init,
          headers: { authorization: `Bearer ${token}` },
          signal: this.abort.signal,
        },
      );
      this.status = res.status;
      if (!res.ok || !res.body) throw new Error(`feed answered ${res.status}: ${await res.text()}`);
      const body = res.body;
      void (async () => {
        for await (const f of readFeed(body)) this.frames.push(f as Frame);
      })().catch(() => {});
    })();
  }

  open(): Promise<void> {
    return this.opened;
  }

  next(match: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    return nextFrame(this.frames, match, timeoutMs, from);
  }

  close(): void {
    this.abort.abort();
  }
}
