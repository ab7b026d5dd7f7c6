/**
 * Each topic family's frame kinds and what they carry (docs/protocol.md, "Server → client"): a
 * topic is `<family>` or `<family>:<env>[:…]`.
 */
import type { Alert } from "./alerts.ts";
import type { LogBatch } from "./log-batch.ts";
import type { DeltaFrame, HostFigures, KeyFrame } from "./stats-frames.ts";
import type {
  ContainerItem,
  EngineEventItem,
  EnvironmentView,
  ImageItem,
  JobItem,
  NetworkItem,
  UpdateItem,
  VolumeItem,
} from "./views.ts";

/** Any topic's `error` frame: the subscription was refused, failed or revoked, and is over. */
export interface ErrorFrame {
  code: string;
  message: string;
}

export interface FrameData {
  envs: { envs: EnvironmentView[] };
  containers: CollectionFrames<ContainerItem>;
  logs: { lines: LogBatch; end: { reason: string } };
  exec: { started: undefined; output: Uint8Array; exit: { code: number | null } };
  stats: { key: KeyFrame; delta: DeltaFrame };
  host: { host: HostFigures };
  jobs: CollectionFrames<JobItem>;
  networks: CollectionFrames<NetworkItem>;
  /** `recent`: the last events the panel kept, on subscribe; `event`: each one as it comes */
  events: { recent: EngineEventItem[]; event: EngineEventItem };
  volumes: CollectionFrames<VolumeItem>;
  /** every alert the subscriber may see: the recent ones, then each as it fires, resolves or is acknowledged */
  alerts: { snapshot: Alert[]; upsert: Alert };
  images: CollectionFrames<ImageItem>;
  updates: CollectionFrames<UpdateItem>;
}

/**
 * A topic of resources kept live as a list: a `snapshot` of all, then an `upsert` of one created or
 * changed, a `remove` of one gone (`containers:<env>` today; images, networks, volumes to follow).
 */
export interface CollectionFrames<T> {
  snapshot: T[];
  upsert: T;
  remove: { id: string };
}

export const topic = {
  containers: (env: string) => `containers:${env}`,
  logs: (env: string, id: string) => `logs:${env}:${id}`,
  exec: (env: string, id: string, session: string) => `exec:${env}:${id}:${session}`,
  stats: (env: string) => `stats:${env}`,
  host: (env: string) => `host:${env}`,
  jobs: (env: string) => `jobs:${env}`,
  networks: (env: string) => `networks:${env}`,
  events: (env: string) => `events:${env}`,
  volumes: (env: string) => `volumes:${env}`,
  alerts: () => "alerts",
  images: (env: string) => `images:${env}`,
  updates: (env: string) => `updates:${env}`,
};
