/**
 * What a watch over QUIC notices for itself in the stats datagrams it gets: a tick that never came,
 * or a frame whose parts had not all come when the next tick did. The panel learns of most losses
 * from QUIC, but Bun 1.4.4's node:quic does not report every datagram's fate, nor always the right
 * datagram's (docs/decisions.md): so the client asks for the keyframe (`resync`) when it sees a gap.
 */
interface Current {
  s: number;
  k: string;
  parts: number;
  seen: Set<number>;
}

/**
 * Asked and no keyframe came since (the panel answers a `resync` at most every 500 ms, and the
 * keyframe itself may be lost): asked again this long after, while frames still come.
 */
const ASK_AGAIN_MS = 1000;

export class DatagramGaps {
  private readonly current = new Map<string, Current>();
  /** per topic: when a keyframe was last asked for, until one comes */
  private readonly asked = new Map<string, number>();

  /** One stats frame or part as it came; true when the topic's keyframe should be asked for. */
  seen(topic: string, kind: string, data: unknown, now = Date.now()): boolean {
    const { s, p } = (data ?? {}) as { s?: unknown; p?: unknown };
    if ((kind !== "key" && kind !== "delta") || typeof s !== "number") return false;
    const [part, parts] = Array.isArray(p) ? (p as [number, number]) : [0, 1];
    const cur = this.current.get(topic);
    if (cur && cur.s === s && cur.k === kind) {
      cur.seen.add(part);
      return false;
    }
    // A copy or a straggler of something older than the frame under way.
    if (cur && (s < cur.s || (s === cur.s && kind === "delta"))) return false;
    this.current.set(topic, { s, k: kind, parts, seen: new Set([part]) });
    if (kind === "key") {
      this.asked.delete(topic);
      return false;
    }
    // A keyframe stands alone; a delta needs the whole frame before it, and the frame before it
    // (and some keyframe first: the one on subscribe may be what was lost).
    const gap = !cur || cur.seen.size < cur.parts || s !== cur.s + 1;
    const asked = this.asked.get(topic);
    if (!gap && (asked === undefined || now - asked < ASK_AGAIN_MS)) return false;
    this.asked.set(topic, now);
    return true;
  }
}
