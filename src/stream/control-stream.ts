/**
 * How long a client that opened a QUIC session (an agent, `watch`) has to open its control stream
 * and say hello on it, before the session is ended.
 */
export const HELLO_TIMEOUT_MS = 10_000;

interface Session<S> {
  readonly closed: Promise<void>;
  onstream: ((stream: S) => void) | undefined;
  destroy(): void;
}

/**
 * The first stream a client opens is its control stream, handed to `serve`; any other it opens is
 * refused (every further stream is the panel's to open), and a session that opens none within
 * HELLO_TIMEOUT_MS is ended, as is one whose control stream fails.
 */
export function onControlStream<S extends { closed: Promise<void>; destroy(): void }>(
  session: Session<S>,
  serve: (stream: S) => Promise<void>,
): void {
  session.closed.catch(() => {});
  let control = false;
  const timer = setTimeout(() => {
    if (!control) session.destroy();
  }, HELLO_TIMEOUT_MS);
  session.onstream = (stream) => {
    stream.closed.catch(() => {});
    if (control) return stream.destroy();
    control = true;
    clearTimeout(timer);
    serve(stream).catch(() => session.destroy());
  };
}

/** `p`, or a rejection after `ms`: a peer that goes quiet mid-handshake does not hold anything. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
