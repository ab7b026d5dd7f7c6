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

export class DatagramGaps {
  private readonly current = new Map<string, Current>();

  /** One stats frame or part as it came; true when the topic's keyframe should be asked for. */
  seen(topic: string, kind: string, data: unknown): boolean {
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
    // A keyframe stands alone; a delta needs the whole frame before it, and the tick before it
    // (and some keyframe first: the one on subscribe may be what was lost).
    if (!cur) return kind === "delta";
    if (kind === "key") return false;
    return cur.seen.size < cur.parts || s !== cur.s + 1;
  }
}
