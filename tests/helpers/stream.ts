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
    this.ws = new WebSocket(url, { headers } as unknown as string[]);
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
  async next(match: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const f = this.frames.slice(from).find(match);
      if (f) return f;
      await Bun.sleep(20);
    }
    throw new Error(
      `no matching frame within ${timeoutMs} ms; got kinds ${this.frames.map((f) => `${f.t}/${f.k}`).join(", ")}`,
    );
  }

  close(): void {
    this.ws.close();
  }
}
