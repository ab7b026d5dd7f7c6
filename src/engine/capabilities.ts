import type { Capabilities, EngineKind } from "../protocol/views.ts";

export type { Capabilities, EngineKind };

const FULL: Capabilities = {
  create: true,
  events: true,
  inspect: true,
  logs: true,
  stats: true,
  exec: true,
  pause: true,
  kill: true,
  restart: true,
  rename: true,
  networks: true,
  volumes: true,
  swarm: true,
  queryStrings: true,
  versionedPaths: true,
};

// From Bolt's documented compat API (see shared/REFERENCE.md): list, create, start, stop, remove
// containers and images only.
const BOLT: Capabilities = {
  create: false,
  events: false,
  inspect: false,
  logs: false,
  stats: false,
  exec: false,
  pause: false,
  kill: false,
  restart: false,
  rename: false,
  networks: false,
  volumes: false,
  swarm: false,
  queryStrings: false,
  versionedPaths: false,
};

export interface VersionAnswer {
  Version?: string;
  ApiVersion?: string;
  Components?: { Name?: string }[];
}

export function engineKind(v: VersionAnswer): EngineKind {
  if (/bolt/i.test(v.Version ?? "")) return "bolt";
  if (v.Components?.some((c) => /podman/i.test(c.Name ?? ""))) return "podman";
  return "docker";
}

export function capabilitiesOf(kind: EngineKind, swarmActive: boolean): Capabilities {
  if (kind === "bolt") return { ...BOLT };
  // Podman's Docker-compatible service has no swarm.
  return { ...FULL, swarm: kind === "docker" && swarmActive };
}

/** The API version to speak: the engine's own, capped at the newest this panel was written against. */
export function negotiateApiVersion(engineApiVersion: string | undefined): string {
  const NEWEST = "1.45";
  if (!engineApiVersion || !/^\d+\.\d+$/.test(engineApiVersion)) return NEWEST;
  const [a, b] = engineApiVersion.split(".").map(Number) as [number, number];
  const [x, y] = NEWEST.split(".").map(Number) as [number, number];
  return a < x || (a === x && b < y) ? engineApiVersion : NEWEST;
}
