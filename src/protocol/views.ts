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
  /** labels people gave it, to find and group engines */
  tags: string[];
  /** when its engine last answered (Unix ms; now while it is up); null: never, as far as the panel knows */
  last_seen: number | null;
  /** the caller's role on it (a team given the whole engine sets it there); in every list made for a caller */
  role?: "admin" | "operator" | "viewer";
}

/** What one caller sees of an environment at a glance (the home page): counts and figures of its containers. */
export interface EnvironmentSummary {
  id: string;
  running: number;
  stopped: number;
  /** sum over the running containers the caller sees, as `docker stats` shows each */
  cpu_percent: number;
  mem_usage: number;
  /** whether the figures are there: an engine without stats, or one down, has only counts */
  figures: boolean;
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

/** One address range of a network, as its IPAM configuration gives it. */
export interface NetworkSubnet {
  subnet: string;
  gateway: string | null;
  ip_range: string | null;
}

/** A network as `networks:<env>` frames carry it (the engine's /networks list, reduced). */
export interface NetworkItem {
  /** The full 64-hex id. */
  id: string;
  name: string;
  driver: string;
  /** "local", "swarm" or "global" */
  scope: string;
  /** RFC 3339, as the engine gives it. */
  created: string;
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  ipv6: boolean;
  subnets: NetworkSubnet[];
  labels: Record<string, string>;
  options: Record<string, string>;
  /** One of the engine's own (bridge, host, none): it cannot be removed. */
  builtin: boolean;
}

/**
 * `GET /api/v1/envs/<env>/networks`: a network with the containers attached to it that the caller
 * may see (from the panel's container mirror: the stream's clients join it with `containers:<env>`).
 */
export interface NetworkListItem extends NetworkItem {
  containers: { id: string; name: string; state: string }[];
}

/** One engine event as `events:<env>` frames carry it. */
export interface EngineEventItem {
  /** "container", "network", "image", … */
  type: string;
  action: string;
  /** the object's id (a volume's name) */
  id: string;
  /** the object's name when the event says it (a container's, a network's, an image's) */
  name: string | null;
  /** for network connect and disconnect, and container events: the container's id */
  container: string | null;
  /** and its name, as the panel knew it when the event came */
  container_name: string | null;
  /** Unix nanoseconds, as the engine stamps it. */
  time_nano: number;
  attributes: Record<string, string>;
}

/** What one kind of object holds on the engine's disk (`docker system df`). */
export interface DiskUsageKind {
  count: number;
  /** in use: images with containers, running containers, volumes mounted, build cache in use */
  active: number;
  /** bytes */
  size: number;
  /** bytes a prune of what is unused would free */
  reclaimable: number;
}

/** `GET /api/v1/envs/<env>/system/df`. */
export interface DiskUsage {
  images: DiskUsageKind;
  containers: DiskUsageKind;
  volumes: DiskUsageKind;
  build_cache: DiskUsageKind;
  /** Unix ms when the engine was asked: the answer is kept briefly, /system/df is slow on big engines. */
  read_at: number;
}

/** What an engine-wide prune would remove, or removed (`/system/prune`, `/networks/prune`). */
export interface PruneReport {
  containers: { id: string; name: string; size: number }[];
  images: { id: string; tags: string[]; size: number }[];
  networks: { id: string; name: string }[];
  volumes: { name: string; size: number }[];
  build_cache: { id: string; size: number }[];
  /** bytes; for a preview an estimate (layers shared between images count once) */
  space: number;
  /** kinds left out, and why (build cache has no labels to filter by) */
  skipped: string[];
}

/** A container that mounts a volume, as the volume list names it. */
export interface VolumeUser {
  id: string;
  name: string;
  state: string;
}

/** A volume as `volumes:<env>` frames and `GET /api/v1/envs/<env>/volumes` carry it. */
export interface VolumeItem {
  /** The volume's name (volumes have no other id). */
  id: string;
  name: string;
  driver: string;
  mountpoint: string;
  scope: string;
  /** RFC 3339, as the engine gives it; null when it does not. */
  created: string | null;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The containers mounting it that the receiver may see. */
  used_by: VolumeUser[];
  /** How many more mount it that the receiver may not see. */
  used_by_hidden: number;
}

/** What /system/df said of the volumes' sizes, and when (it is slow: asked lazily, then cached). */
export interface VolumeSizes {
  /** RFC 3339: when the engine was asked. */
  at: string;
  /** Bytes by volume name; -1 where the engine could not say. */
  sizes: Record<string, number>;
}

/** An image as `images:<env>` frames and `GET /api/v1/envs/<env>/images` carry it (the engine's list, as `docker image ls` reads it). */
export interface ImageItem {
  /** "sha256:<64 hex>" */
  id: string;
  /** "repo:tag" references; empty for a dangling image */
  tags: string[];
  /** "repo@sha256:…": the registry digests it was pulled or pushed as */
  digests: string[];
  /** bytes, its layers included */
  size: number;
  /** unix seconds */
  created: number;
  labels: Record<string, string>;
  /** no tag: what a prune of dangling images removes when no container uses it */
  dangling: boolean;
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
