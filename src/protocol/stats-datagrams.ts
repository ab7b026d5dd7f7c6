/**
 * Stats frames that came as QUIC datagrams (docs/protocol.md, "Watch over QUIC"): a frame too large
 * for one datagram comes in parts, each an ordinary `key` or `delta` frame of some of the
 * containers, with `p: [part, parts]` beside its fields. Each part applies alone, so a lost
 * datagram costs only its containers; the panel sends a keyframe when it learns of the loss.
 */
import { type DeltaFrame, type KeyFrame, StatsTable } from "./stats-frames.ts";

type Part = { p?: [number, number] };

/** A StatsTable fed frames whole (WebSocket, feed) or in datagram parts, in any order. */
export class StatsParts {
  readonly table = new StatsTable();
  /** the keyframe being put together from its parts, and the parts of the current delta applied */
  private keySeq = -1;
  private deltaParts = new Set<number>();

  /** Applies one frame or part; false when it was stale or does not follow (a keyframe will come). */
  apply(kind: string, data: unknown): boolean {
    const part = (data as Part | undefined)?.p;
    if (!part) {
      this.keySeq = -1;
      this.deltaParts.clear();
      return this.table.apply(kind, data);
    }
    const [index] = part;
    if (kind === "key") {
      const f = data as KeyFrame;
      // A later part of the keyframe being assembled adds its containers to those already in.
      if (f.s === this.keySeq && this.table.seq === f.s) {
        const rows = [...this.table.rows].map(([idx, r]) => [idx, r.id, r.name, ...r.k]) as KeyFrame["c"];
        return this.table.apply("key", { ...f, c: [...rows, ...f.c] });
      }
      if (f.s < this.table.seq) return false;
      this.keySeq = f.s;
      this.deltaParts.clear();
      return this.table.apply("key", f);
    }
    if (kind !== "delta") return false;
    const f = data as DeltaFrame;
    if (f.s === this.table.seq + 1) {
      this.deltaParts = new Set([index]);
      this.keySeq = -1;
      return this.table.apply("delta", f);
    }
    // Another part of the delta just applied: it too is relative to the tick before.
    if (f.s === this.table.seq && this.keySeq !== f.s && !this.deltaParts.has(index)) {
      this.deltaParts.add(index);
      this.table.seq = f.s - 1;
      return this.table.apply("delta", f);
    }
    return false;
  }
}
