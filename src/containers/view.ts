import type Dockerode from "dockerode";
import type { ContainerItem, Port } from "../protocol/views.ts";

/** A container as the panel keeps it: what clients are sent (ContainerItem), and more. */
export interface ContainerView extends ContainerItem {
  /** Internal: how to read its logs. */
  tty: boolean;
  /** Internal: its init process on the host while it runs (0 otherwise), for network counters. */
  pid: number;
  /** Internal: the named volumes it mounts, for the volume list's "used by". */
  volumes: string[];
}

/**
 * Containers the panel makes for its own work (a volume's backup reads its files through one that
 * is created and never started): not the user's, so no list or stream shows them.
 */
export const HELPER_LABEL = "ghostpanel.helper";
export const isPanelHelper = (labels: Record<string, string> | null | undefined): boolean =>
  labels?.[HELPER_LABEL] !== undefined;

const volumeNames = (mounts: { Type?: string; Name?: string }[] | null | undefined): string[] =>
  (mounts ?? []).flatMap((m) => (m.Type === "volume" && m.Name ? [m.Name] : []));

const ZERO_TIME = "0001-01-01T00:00:00Z";
const timeOrNull = (t: string | undefined) =>
  !t || t.startsWith("0001-01-01") || t === ZERO_TIME ? null : t;

export function fromInspect(i: Dockerode.ContainerInspectInfo): ContainerView {
  const ports: Port[] = [];
  for (const [key, bindings] of Object.entries(i.NetworkSettings?.Ports ?? {})) {
    const [port, type = "tcp"] = key.split("/");
    const priv = Number(port);
    if (!bindings || bindings.length === 0) ports.push({ private: priv, type });
    else
      for (const b of bindings) ports.push({ private: priv, public: Number(b.HostPort), type, ip: b.HostIp });
  }
  const state = i.State as Dockerode.ContainerInspectInfo["State"] & { Health?: { Status?: string } };
  const view: ContainerView = {
    id: i.Id,
    name: i.Name.replace(/^\//, ""),
    image: i.Config?.Image ?? "",
    image_id: i.Image,
    command: [i.Path, ...(i.Args ?? [])].join(" "),
    state: state.Status,
    status: "",
    health: state.Health?.Status ?? null,
    created: Math.floor(Date.parse(i.Created) / 1000),
    started_at: timeOrNull(state.StartedAt),
    finished_at: timeOrNull(state.FinishedAt),
    exit_code: state.Status === "created" ? null : state.ExitCode,
    labels: i.Config?.Labels ?? {},
    ports,
    networks: Object.keys(i.NetworkSettings?.Networks ?? {}),
    tty: i.Config?.Tty ?? false,
    pid: state.Pid ?? 0,
    volumes: volumeNames(i.Mounts),
  };
  view.status = statusText(view, Date.now());
  return view;
}

/** For engines without inspect (Bolt's compat server): the list item is all there is. */
export function fromListItem(c: Dockerode.ContainerInfo): ContainerView {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ""),
    image: c.Image,
    image_id: c.ImageID ?? "",
    command: c.Command ?? "",
    state: c.State ?? "unknown",
    status: c.Status ?? "",
    health: healthOfStatus(c.Status),
    created: c.Created,
    started_at: null,
    finished_at: null,
    exit_code: null,
    labels: c.Labels ?? {},
    ports: (c.Ports ?? []).map((p) => ({
      private: p.PrivatePort,
      type: p.Type,
      ...(p.PublicPort ? { public: p.PublicPort } : {}),
      ...(p.IP ? { ip: p.IP } : {}),
    })),
    networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    tty: false,
    pid: 0,
    volumes: volumeNames(c.Mounts),
  };
}

/** The health a `docker ps` status line tells ("Up 5 minutes (healthy)"), as inspect would name it. */
export function healthOfStatus(status: string | undefined): string | null {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? "");
  return m ? (m[1] === "health: starting" ? "starting" : m[1]!) : null;
}

/** The engine's human status ("Up 5 minutes (healthy)", "Exited (0) 3 seconds ago"), as `docker ps` words it. */
export function statusText(c: ContainerItem, now: number): string {
  const since = (t: string | null) => humanDuration(t ? now - Date.parse(t) : 0);
  switch (c.state) {
    case "running": {
      const health = c.health === "starting" ? " (health: starting)" : c.health ? ` (${c.health})` : "";
      return c.started_at ? `Up ${since(c.started_at)}${health}` : c.status;
    }
    case "paused":
      return c.started_at ? `Up ${since(c.started_at)} (Paused)` : c.status;
    case "restarting":
      return `Restarting (${c.exit_code ?? 0}) ${since(c.finished_at)} ago`;
    case "removing":
      return "Removal In Progress";
    case "dead":
      return "Dead";
    case "created":
      return "Created";
    case "exited":
      return c.finished_at ? `Exited (${c.exit_code ?? 0}) ${since(c.finished_at)} ago` : c.status;
    default:
      return c.status;
  }
}

// The wording of go-units' HumanDuration, which `docker ps` uses.
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
