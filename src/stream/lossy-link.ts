/**
 * Whether a watch session's stats datagrams go twice. A lost datagram is learnt of only about a
 * round trip after the next packet QUIC sends, and with 1 s ticks that is a tick or a keyframe
 * hundreds of ms late, where TCP would have retransmitted in ~200 ms: on a link that loses, each
 * datagram is sent again `REPEAT_AFTER_MS` later (apart, as losses come in bursts), and the tick
 * is lost only if both are. A link that has lost nothing for `LOSSY_FOR_MS` goes back to one copy.
 *
 * A new session starts as lossy: until it has lost something, it cannot know, and waiting for the
 * first loss made that loss cost a whole tick (the largest share of QUIC's p99 at 3 % loss,
 * docs/decisions.md). A clean link pays double for its first minute only. Copies are harmless to
 * the client: a part or delta it has applied is stale the second time
 * (src/protocol/stats-datagrams.ts).
 */
export const REPEAT_AFTER_MS = 20;
export const LOSSY_FOR_MS = 60_000;

export class LossyLink {
  private lastLoss: number;

  constructor(now = Date.now()) {
    this.lastLoss = now;
  }

  /** A datagram was lost, or refused before it left. */
  lost(now = Date.now()): void {
    this.lastLoss = now;
  }

  /** How many copies of each datagram to send now. */
  copies(now = Date.now()): 1 | 2 {
    return now - this.lastLoss < LOSSY_FOR_MS ? 2 : 1;
  }
}
