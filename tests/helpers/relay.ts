/**
 * An impairment relay on loopback, for the tests and the bench (these kernels have no netem): UDP
 * or TCP in on its own port, out to a target, each direction delayed, jittered, lossy and capped in
 * bandwidth. Settings change while it runs (`set`), so a link can be cut off and healed.
 *
 * UDP: each datagram is lost with probability `loss`, else leaves after the bandwidth queue and
 * `delayMs ± jitterMs` (so datagrams may be reordered, as on a real path). One upstream socket per
 * client address, so that answers find their way back.
 * TCP: bytes are never dropped or reordered (that would be a broken stream, not a bad link): a
 * chunk "lost" waits one retransmission timeout (max(200 ms, 2 × delay)) and holds back what follows
 * it; at loss 1 nothing passes until the loss goes down, as if the path were a black hole.
 * Bounded: a direction holding more than `maxQueuedBytes` drops datagrams (UDP) or ends its
 * connection (TCP).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Impairment {
  /** one-way delay added to each direction */
  delayMs: number;
  /** each packet's delay is delayMs plus a uniform draw in ±jitterMs */
  jitterMs: number;
  /** 0..1 */
  loss: number;
  /** bytes per second each direction, 0 for no cap */
  bandwidth: number;
}

export const NO_IMPAIRMENT: Impairment = { delayMs: 0, jitterMs: 0, loss: 0, bandwidth: 0 };

const MAX_QUEUED_BYTES = 8 << 20;
const MAX_UDP_CLIENTS = 1024;

export interface RelayCounts {
  passed: number;
  dropped: number;
  bytes: number;
}

/** One direction's queue: bandwidth serialisation, then delay and jitter. */
class Direction {
  private busyUntil = 0;
  private lastDelivery = 0;
  private queued = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly held: { size: number; deliver: () => void }[] = [];
  private poll: ReturnType<typeof setInterval> | undefined;
  private readonly due: { at: number; size: number; deliver: () => void }[] = [];
  private drain: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly relay: { impairment: Impairment; counts: RelayCounts },
    /** TCP keeps bytes in order: a later chunk never overtakes an earlier one */
    private readonly ordered: boolean,
  ) {}

  /** Schedules `deliver`; false when the queue is over its bound (the chunk is not delivered). */
  push(size: number, deliver: () => void): boolean {
    const { delayMs, jitterMs, loss, bandwidth } = this.relay.impairment;
    const counts = this.relay.counts;
    if (this.queued + size > MAX_QUEUED_BYTES) {
      counts.dropped++;
      return false;
    }
    // a black-holed TCP direction: what follows waits behind what is held
    if (this.held.length) return this.hold(size, deliver);
    const lost = Math.random() < loss;
    if (lost && !this.ordered) {
      counts.dropped++;
      return true;
    }
    if (lost && loss >= 1) return this.hold(size, deliver);
    const now = performance.now();
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = bandwidth > 0 ? start + (size * 1000) / bandwidth : start;
    let at = this.busyUntil + Math.max(0, delayMs + (Math.random() * 2 - 1) * jitterMs);
    if (lost) at += Math.max(200, 2 * delayMs);
    if (this.ordered) at = Math.max(at, this.lastDelivery);
    this.lastDelivery = at;
    this.queued += size;
    const item = { at, size, deliver };
    if (this.ordered) {
      // One queue and one timer: timers set at different moments for the same deadline may fire
      // in either order, and TCP's bytes must not.
      this.due.push(item);
      this.arm();
      return true;
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.release(item);
      },
      Math.max(0, at - now),
    );
    this.timers.add(timer);
    return true;
  }

  private arm(): void {
    if (this.drain || !this.due.length) return;
    this.drain = setTimeout(
      () => {
        this.drain = undefined;
        const now = performance.now();
        while (this.due.length && this.due[0]!.at <= now + 0.5) this.release(this.due.shift()!);
        this.arm();
      },
      Math.max(0, this.due[0]!.at - performance.now()),
    );
  }

  private release(item: { size: number; deliver: () => void }): void {
    this.queued -= item.size;
    this.relay.counts.passed++;
    this.relay.counts.bytes += item.size;
    item.deliver();
  }

  /** Held (TCP at loss 1) in order, and let go once the loss goes down. */
  private hold(size: number, deliver: () => void): boolean {
    this.held.push({ size, deliver });
    this.queued += size;
    if (!this.poll)
      this.poll = setInterval(() => {
        if (this.relay.impairment.loss >= 1) return;
        clearInterval(this.poll);
        this.poll = undefined;
        const held = this.held.splice(0);
        for (const h of held) {
          this.queued -= h.size;
          this.push(h.size, h.deliver);
        }
      }, 50);
    return true;
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.poll);
    this.held.length = 0;
    clearTimeout(this.drain);
    this.drain = undefined;
    this.due.length = 0;
  }
}

export class Relay {
  readonly counts: RelayCounts = { passed: 0, dropped: 0, bytes: 0 };
  impairment: Impairment;
  private readonly closers: (() => void)[] = [];

  private constructor(
    readonly protocol: "udp" | "tcp",
    impairment: Partial<Impairment>,
  ) {
    this.impairment = { ...NO_IMPAIRMENT, ...impairment };
  }

  /** the relay's own port on 127.0.0.1 */
  port = 0;

  /** Relays 127.0.0.1:<a free port> to 127.0.0.1:targetPort. */
  static async start(
    protocol: "udp" | "tcp",
    targetPort: number,
    impairment: Partial<Impairment> = {},
  ): Promise<Relay> {
    const relay = new Relay(protocol, impairment);
    relay.port = protocol === "udp" ? await relay.udp(targetPort) : await relay.tcp(targetPort);
    return relay;
  }

  set(impairment: Partial<Impairment>): void {
    this.impairment = { ...this.impairment, ...impairment };
  }

  stop(): void {
    for (const close of this.closers.splice(0)) close();
  }

  private async udp(targetPort: number): Promise<number> {
    const front = createSocket("udp4");
    const clients = new Map<string, { upstream: UdpSocket; up: Direction; down: Direction }>();
    front.on("message", (msg: Buffer, from: RemoteInfo) => {
      const key = `${from.address}:${from.port}`;
      let client = clients.get(key);
      if (!client) {
        if (clients.size >= MAX_UDP_CLIENTS) return;
        const upstream = createSocket("udp4");
        const made = { upstream, up: new Direction(this, false), down: new Direction(this, false) };
        upstream.on("message", (answer: Buffer) => {
          made.down.push(answer.length, () => front.send(answer, from.port, from.address));
        });
        upstream.on("error", () => {});
        upstream.connect(targetPort, "127.0.0.1");
        clients.set(key, made);
        client = made;
      }
      const { upstream, up } = client;
      up.push(msg.length, () => {
        try {
          upstream.send(msg);
        } catch {
          // not connected yet, or closed: a lost datagram, as UDP allows
        }
      });
    });
    front.on("error", () => {});
    await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", resolve));
    this.closers.push(() => {
      for (const c of clients.values()) {
        c.up.clear();
        c.down.clear();
        c.upstream.close();
      }
      clients.clear();
      front.close();
    });
    return front.address().port;
  }

  private async tcp(targetPort: number): Promise<number> {
    const sockets = new Set<Socket>();
    const directions = new Set<Direction>();
    const server: Server = createServer((client) => {
      const upstream = connect(targetPort, "127.0.0.1");
      const up = new Direction(this, true);
      const down = new Direction(this, true);
      sockets.add(client).add(upstream);
      directions.add(up).add(down);
      const end = () => {
        up.clear();
        down.clear();
        directions.delete(up);
        directions.delete(down);
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      const pipe = (from: Socket, to: Socket, dir: Direction) => {
        from.on("data", (chunk: Buffer) => {
          if (!dir.push(chunk.length, () => to.destroyed || to.write(chunk))) end();
        });
        // an end follows the bytes before it through the same queue
        from.on("end", () => dir.push(0, () => to.destroyed || to.end()));
        from.on("close", () => dir.push(0, end));
      };
      pipe(client, upstream, up);
      pipe(upstream, client, down);
      client.on("error", end);
      upstream.on("error", end);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.closers.push(() => {
      for (const d of directions) d.clear();
      for (const s of sockets) s.destroy();
      server.close();
    });
    return (server.address() as { port: number }).port;
  }
}
