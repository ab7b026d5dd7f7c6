import type { RawSample, StatsSource, StatsTarget } from "../stats/sample.ts";
import type { LinkSession } from "./link.ts";
import { encodeResync, type SourceName, StatsDatagramDecoder } from "./stats-datagram.ts";

/** Containers held for one agent at most: a bound on what a misbehaving agent can make us keep. */
const MAX_CONTAINERS = 65_536;

interface Held {
  sample: RawSample;
  receivedAt: number;
}

/**
 * An agent's stats as the panel's collector reads them: the newest sample of each container that
 * came in datagrams (stats-datagram.ts), as a StatsSource like the cgroup files are for an engine
 * here. The collector works out rates and frames the same way for both. One per agent, across its
 * links: a link that comes back feeds the same collector.
 */
export class LinkStatsSource implements StatsSource {
  private kind: SourceName = "cgroup";
  private readonly newest = new Map<string, Held>();

  /** `staleMs`: a sample not renewed in this long is the agent's no more (the link went, or the container). */
  constructor(private readonly staleMs: number) {}

  /** Which source the agent reads its figures from. */
  get name(): SourceName {
    return this.kind;
  }

  put(source: SourceName, id: string, sample: RawSample, receivedAt: number): void {
    this.kind = source;
    const held = this.newest.get(id);
    // datagrams may come out of order: an older sample never replaces a newer one
    if (held ? held.sample.at >= sample.at : this.newest.size >= MAX_CONTAINERS) return;
    this.newest.set(id, { sample, receivedAt });
  }

  async read(targets: readonly StatsTarget[]): Promise<Map<string, RawSample>> {
    const since = Date.now() - this.staleMs;
    for (const [id, held] of this.newest) if (held.receivedAt < since) this.newest.delete(id);
    const out = new Map<string, RawSample>();
    for (const t of targets) {
      const held = this.newest.get(t.id);
      if (held) out.set(t.id, held.sample);
    }
    return out;
  }

  close(): void {
    this.newest.clear();
  }
}

/**
 * Feeds `source` from the stats datagrams of one link, and asks the agent again for the keyframes
 * of slots whose deltas came without one. The agent's clock is not ours: sample times are moved
 * onto this one by the smallest gap seen on this link between a sample's time and its arrival, so
 * that a frame's age is right and, the gap barely changing, rates stay the agent's.
 */
export function receiveStats(session: LinkSession, source: LinkStatsSource): void {
  const decoder = new StatsDatagramDecoder();
  let offset = Number.POSITIVE_INFINITY;
  session.ondatagram = (data) => {
    const decoded = decoder.decode(data);
    if (!decoded) return;
    const now = Date.now();
    for (const [, s] of decoded.samples) offset = Math.min(offset, now - s.at);
    for (const [id, s] of decoded.samples) source.put(decoded.source, id, { ...s, at: s.at + offset }, now);
    if (decoded.missing.length) session.sendDatagram(encodeResync(decoded.missing));
  };
}
