/** Preact hooks over the live stream given by the shell (web/app/contexts.ts). */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CollectionFrames, ErrorFrame } from "../../src/protocol/topics.ts";
import type { EnvironmentView } from "../../src/protocol/views.ts";
import { useStream } from "../app/contexts.ts";
import type { Stream, StreamStatus, TopicHandler } from "./stream.ts";

export function useStreamStatus(stream: Stream): StreamStatus {
  const [status, setStatus] = useState(stream.status);
  useEffect(() => {
    setStatus(stream.status);
    return stream.onStatus(setStatus);
  }, [stream]);
  return status;
}

/** Subscribes while mounted; `key` changes force a fresh subscription (and so a fresh snapshot). */
export function useTopic(topic: string, handler: TopicHandler, key?: unknown): void {
  const stream = useStream();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(
    () => stream.subscribe(topic, (k, d, first) => latest.current(k, d, first)),
    [stream, topic, key],
  );
}

export function useEnvs(): EnvironmentView[] | null {
  const [envs, setEnvs] = useState<EnvironmentView[] | null>(null);
  useTopic("envs", (kind, data) => {
    if (kind === "envs") setEnvs(data as EnvironmentView[]);
  });
  return envs;
}

export interface LiveCollection<T> {
  /** null until the first snapshot. */
  list: T[] | null;
  error: string | null;
}

interface Collection<T> {
  byId: Map<string, T>;
  live: LiveCollection<T>;
  views: Set<(live: LiveCollection<T>) => void>;
  unsubscribe: () => void;
  linger?: ReturnType<typeof setTimeout>;
}

type Item = { id: string };

/**
 * A collection stays subscribed this long after its last view goes, so that moving between a list
 * and one of its items (two views of one topic) shows them at once instead of after a new snapshot.
 */
const LINGER_MS = 15_000;
const EMPTY: LiveCollection<never> = { list: null, error: null };
/** Each stream's collections by topic, of whatever item type each topic carries. */
const collections = new WeakMap<Stream, Map<string, unknown>>();

function topicsOf(stream: Stream): Map<string, unknown> {
  let topics = collections.get(stream);
  if (!topics) {
    topics = new Map();
    collections.set(stream, topics);
  }
  return topics;
}

/** One subscription and one copy of the items per topic, however many views show them. */
function openCollection<T extends Item>(stream: Stream, topic: string, failed: () => void): Collection<T> {
  const c: Collection<T> = { byId: new Map(), live: EMPTY, views: new Set(), unsubscribe: () => {} };
  const set = (live: LiveCollection<T>) => {
    c.live = live;
    for (const view of [...c.views]) view(live);
  };
  c.unsubscribe = stream.subscribe(topic, (kind, data) => {
    const frame = data as CollectionFrames<T>;
    switch (kind) {
      case "snapshot":
        c.byId = new Map((data as typeof frame.snapshot).map((item) => [item.id, item]));
        break;
      case "upsert": {
        const item = data as typeof frame.upsert;
        c.byId.set(item.id, item);
        break;
      }
      case "remove":
        c.byId.delete((data as typeof frame.remove).id);
        break;
      case "error":
        // The stream has let the subscription go: the next view to ask subscribes afresh.
        failed();
        set({ ...c.live, error: (data as ErrorFrame).message });
        return;
      default:
        return;
    }
    set({ list: [...c.byId.values()], error: null });
  });
  return c;
}

function watchCollection<T extends Item>(
  stream: Stream,
  topic: string,
  view: (live: LiveCollection<T>) => void,
): () => void {
  const topics = topicsOf(stream);
  let c = topics.get(topic) as Collection<T> | undefined;
  if (!c) {
    const opened = openCollection<T>(stream, topic, () => {
      if (topics.get(topic) === opened) topics.delete(topic);
    });
    topics.set(topic, opened);
    c = opened;
  }
  const mine = c;
  clearTimeout(mine.linger);
  mine.views.add(view);
  view(mine.live);
  return () => {
    mine.views.delete(view);
    if (mine.views.size > 0) return;
    mine.linger = setTimeout(() => {
      mine.unsubscribe();
      if (topics.get(topic) === mine) topics.delete(topic);
    }, LINGER_MS);
  };
}

/**
 * The items of a topic kept live as a list (`snapshot`, `upsert`, `remove` frames, docs/protocol.md):
 * `containers:<env>` today, images, networks and volumes alike.
 */
export function useLiveCollection<T extends Item>(topic: string): LiveCollection<T> {
  const stream = useStream();
  const [shown, setShown] = useState<{ topic: string; live: LiveCollection<T> } | null>(null);
  useEffect(() => watchCollection<T>(stream, topic, (live) => setShown({ topic, live })), [stream, topic]);
  // Until the effect runs for a new topic, the old topic's items are not this one's.
  if (shown?.topic === topic) return shown.live;
  return (topicsOf(stream).get(topic) as Collection<T> | undefined)?.live ?? EMPTY;
}
