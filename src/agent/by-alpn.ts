import type { QuicSession } from "node:quic";

type StreamHandler = ((stream: unknown) => void) | undefined;

/** What `opened` settles with: the chosen ALPN and the client's address, among others. */
export interface OpenedInfo {
  protocol?: string;
  remote?: { address?: string };
}

/**
 * Hands a server session to the handler of the ALPN its client chose. node:quic says which only once
 * the handshake is done (`opened`), and a client's first stream can come before that promise
 * settles: streams that arrive meanwhile are held, then given to the handler's `onstream`.
 */
export function byAlpn(
  session: QuicSession,
  handlers: Record<string, (session: QuicSession, info: OpenedInfo) => void>,
): void {
  const s = session as unknown as { onstream: StreamHandler };
  const early: unknown[] = [];
  s.onstream = (stream) => void early.push(stream);
  session.opened.then(
    (info) => {
      const opened = info as OpenedInfo;
      const handler = handlers[opened.protocol ?? ""];
      if (!handler) return session.destroy();
      s.onstream = undefined;
      handler(session, opened);
      const onstream = s.onstream as StreamHandler;
      for (const stream of early) onstream?.(stream);
    },
    () => {},
  );
}
