/**
 * What the server sends about engines and containers, on the stream and from the REST API
 * (docs/protocol.md): one definition the server's producers are typed with and the UI reads.
 * Plain types only: this file is part of every client bundle.
 */

/** What an engine can do; the API and the UI offer only these. */
export interface Capabilities {
  /** Bolt's compat server has the route but ignores request bodies: nothing says what to run. */
  create: boolean;
  events: boolean;
  inspect: boolean;
  logs: boolean;
  stats: boolean;
  exec: boolean;
  pause: boolean;
  kill: boolean;
  restart: boolean;
  rename: boolean;
  networks: boolean;
  volumes: boolean;
  swarm: boolean;
  /** Bolt's compat server breaks path matching on any query string. */
  queryStrings: boolean;
  /** Bolt's compat server serves no /v1.xx prefix. */
  versionedPaths: boolean;
}

export type EngineKind = "docker" | "podman" | "bolt";

/** What an engine said of itself in /version and /info. */
export interface EngineFacts {
  kind: EngineKind;
  version: string;
  api_version: string;
  os: string;
  arch: string;
  hostname: string;
  ncpu: number;
  mem_total: number;
}

/** `connecting` until the engine first answers (or fails to). */
export type EngineStatus = "connecting" | "up" | "down";

/** An environment (one engine): the `envs` topic's items and `GET /api/v1/envs`. */
export interface EnvironmentView {
  id: string;
  name: string;
  /** An EngineKind once the engine has answered, "unknown" before. */
  kind: string;
  status: EngineStatus;
  url: string;
  /** Connects with a TLS client certificate; the material itself is never shown. */
  tls: boolean;
  error: string | null;
  facts: EngineFacts | null;
  capabilities: Capabilities | null;
}

export interface Port {
  private: number;
  public?: number;
  type: string;
  ip?: string;
}

/**
 * The states Docker and Podman report. `ContainerItem.state` is the engine's word as given, so a
 * client meets others too (Bolt's list may say "unknown").
 */
export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

/** A container as `containers:<env>` frames and `GET /api/v1/envs/<env>/containers` carry it. */
export interface ContainerItem {
  /** The full 64-hex id. */
  id: string;
  name: string;
  image: string;
  image_id: string;
  command: string;
  /** Usually a ContainerState. */
  state: string;
  /** The engine's human text ("Up 5 minutes") at the time of the frame. */
  status: string;
  /** "healthy", "unhealthy" or "starting" for a container with a health check. */
  health: string | null;
  /** Unix seconds. */
  created: number;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  labels: Record<string, string>;
  ports: Port[];
  networks: string[];
}

/** One log line as the API and the stream carry it. */
export interface LogLine {
  stream: "stdout" | "stderr";
  time: string | null;
  text: string;
}

/** A REST API error's body, whatever the status. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** One step of a job that moves bytes (a layer of a pull or push, a file of a backup). */
export interface JobStep {
  id: string;
  /** as the engine words it: "Downloading", "Pull complete", … */
  status: string;
  current: number;
  /** 0 when not known */
  total: number;
}

/**
 * Something long the panel does for a caller (a pull, a push, a build, a restore), kept live on
 * `jobs:<env>` so that a second viewer and a reloaded page still see it.
 */
export interface JobItem {
  id: string;
  env: string;
  /** what it is: "pull", "push", "build", … */
  kind: string;
  /** what it is about, for people: "busybox:latest" */
  title: string;
  /** the user who started it */
  by: string;
  state: "running" | "done" | "failed" | "cancelled";
  error: string | null;
  startedAt: number;
  endedAt: number | null;
  steps: JobStep[];
  /** the last lines of its output (a build's), at most LOG_LINES */
  log: string[];
  /** what it made, when that has a name: an image id, a volume */
  result: string | null;
}

/**
 * Whether a container's image has a newer one at its registry, as `updates:<env>` frames and
 * `GET /api/v1/envs/<env>/updates` carry it: the digest the engine recorded for the image the
 * container runs, against the digest the registry serves for its tag now.
 */
export interface UpdateItem {
  /** the container's full id */
  id: string;
  name: string;
  /** the reference the container was made from: "127.0.0.1:5000/app:1" */
  image: string;
  /**
   * "available": the registry serves another digest for the tag; "current": the same;
   * "unknown": it cannot be checked (why in `error`: pinned by digest, built here, registry not
   * added); "error": the check failed (why in `error`)
   */
  status: "current" | "available" | "unknown" | "error";
  local_digest: string | null;
  remote_digest: string | null;
  /** when the registry was asked, in ms since the epoch */
  checked_at: number | null;
  error: string | null;
}
