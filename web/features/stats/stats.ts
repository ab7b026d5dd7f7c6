/** Live figures: the `stats:<env>` and `host:<env>` topics (docs/protocol.md, "Stats frames"). */
import { useEffect, useRef, useState } from "preact/hooks";
import { type HostFigures, StatsTable } from "../../../src/protocol/stats-frames.ts";
import { topic as topicOf } from "../../../src/protocol/topics.ts";
import { useEnv, useStream } from "../../app/contexts.ts";
import { useTopic } from "../../lib/live.ts";
import type { Stream } from "../../lib/stream.ts";

export interface StatsListener {
  /**
   * After each whole tick applied (a tick that came in several frames, once its last one has):
   * the table holds every running container's newest figures, one point per tick.
   */
  tick(table: StatsTable): void;
  /** The subscription was refused or failed (an engine that serves no stats). */
  error(message: string): void;
}

interface Feed {
  table: StatsTable;
  listeners: Set<StatsListener>;
  unsubscribe: () => void;
}

const feeds = new WeakMap<Stream, Map<string, Feed>>();

/**
 * One subscription and one table per topic however many views show it: a view joining a topic
 * already subscribed would only see deltas, which it cannot apply before the next keyframe.
 */
export function watchStats(stream: Stream, env: string, listener: StatsListener): () => void {
  const topic = topicOf.stats(env);
  let byTopic = feeds.get(stream);
  if (!byTopic) {
    byTopic = new Map();
    feeds.set(stream, byTopic);
  }
  const topics = byTopic;
  let feed = topics.get(topic);
  if (!feed) {
    const f: Feed = { table: new StatsTable(), listeners: new Set(), unsubscribe: () => {} };
    f.unsubscribe = stream.subscribe(topic, (kind, data) => {
      if (kind === "error" || kind === "end") {
        // The stream has dropped the subscription: the next view to watch starts afresh.
        if (topics.get(topic) === f) topics.delete(topic);
        const message = (data as { message?: string } | null)?.message ?? "Live figures are not available.";
        for (const l of [...f.listeners]) l.error(message);
        return;
      }
      // A refused delta followed a missed frame: the server sends a keyframe next.
      if (!f.table.apply(kind, data)) return;
      // Views show whole ticks: a tick read in parts would otherwise add a chart point per part.
      if (f.table.partial) return;
      for (const l of [...f.listeners]) l.tick(f.table);
    });
    feed = f;
    topics.set(topic, f);
  }
  const mine = feed;
  mine.listeners.add(listener);
  // Joining a feed that already has figures: show them now rather than at the next tick.
  if (mine.table.seq >= 0 && !mine.table.partial) listener.tick(mine.table);
  return () => {
    mine.listeners.delete(listener);
    if (mine.listeners.size > 0) return;
    mine.unsubscribe();
    if (topics.get(topic) === mine) topics.delete(topic);
  };
}

/** Calls `tick` after every stats frame of the current environment while mounted; returns the error, if the topic failed. */
export function useStats(tick: (table: StatsTable) => void): string | null {
  const stream = useStream();
  const env = useEnv().id;
  const latest = useRef(tick);
  latest.current = tick;
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setError(null);
    return watchStats(stream, env, { tick: (t) => latest.current(t), error: setError });
  }, [stream, env]);
  return error;
}

/** How the figures are read, for the small print under them. */
export function sourceText(source: string, intervalMs: number): string {
  const from =
    source === "cgroup"
      ? "Figures from cgroup files"
      : source === "docker"
        ? "Figures from the engine's stats API"
        : "Figures";
  return `${from}, every ${intervalMs >= 1000 ? `${intervalMs / 1000} s` : `${intervalMs} ms`}.`;
}

export interface LiveHost {
  /** null until the first tick. */
  figures: HostFigures | null;
  /** Set when the topic is refused: an engine elsewhere, or a server without host figures. */
  unavailable: string | null;
}

export function useHost(onFigures?: (f: HostFigures) => void): LiveHost {
  const env = useEnv().id;
  const [live, setLive] = useState<LiveHost>({ figures: null, unavailable: null });
  // After the first frame, host frames carry only the fields that changed (docs/protocol.md).
  const held = useRef<HostFigures | null>(null);
  useTopic(topicOf.host(env), (kind, data) => {
    if (kind === "host") {
      const figures = { ...held.current, ...(data as Partial<HostFigures>) } as HostFigures;
      held.current = figures;
      onFigures?.(figures);
      setLive({ figures, unavailable: null });
    } else if (kind === "error" || kind === "end") {
      held.current = null;
      const message = (data as { message?: string } | null)?.message ?? "Host figures are not available.";
      setLive({ figures: null, unavailable: message });
    }
  });
  return live;
}
