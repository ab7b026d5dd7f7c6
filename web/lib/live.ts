/** Preact hooks over the live stream. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ContainerItem, EnvironmentView } from "../../src/protocol/views.ts";
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
export function useTopic(stream: Stream, topic: string, handler: TopicHandler, key?: unknown): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(
    () => stream.subscribe(topic, (k, d, first) => latest.current(k, d, first)),
    [stream, topic, key],
  );
}

export function useEnvs(stream: Stream): EnvironmentView[] | null {
  const [envs, setEnvs] = useState<EnvironmentView[] | null>(null);
  useTopic(stream, "envs", (kind, data) => {
    if (kind === "envs") setEnvs(data as EnvironmentView[]);
  });
  return envs;
}

export interface LiveContainers {
  /** null until the first snapshot. */
  list: ContainerItem[] | null;
  error: string | null;
}

export function useContainers(stream: Stream, env: string): LiveContainers {
  const byId = useRef(new Map<string, ContainerItem>());
  const [live, setLive] = useState<LiveContainers>({ list: null, error: null });
  useTopic(stream, `containers:${env}`, (kind, data) => {
    const map = byId.current;
    switch (kind) {
      case "snapshot":
        map.clear();
        for (const c of data as ContainerItem[]) map.set(c.id, c);
        break;
      case "upsert": {
        const c = data as ContainerItem;
        map.set(c.id, c);
        break;
      }
      case "remove":
        map.delete((data as { id: string }).id);
        break;
      case "error":
        setLive((prev) => ({ ...prev, error: (data as { message: string }).message }));
        return;
      default:
        return;
    }
    setLive({ list: [...map.values()], error: null });
  });
  return live;
}
