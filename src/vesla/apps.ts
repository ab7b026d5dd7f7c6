import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";
import { appOf, type VeslaApp } from "../protocol/apps.ts";

/** What the Vesla Console calls its system containers: its own services and the proxy before them. */
export const SYSTEM_NAMES = ["traefik", "portainer", "vesla-api", "vesla-dashboard"] as const;

/**
 * Which list a container belongs in. An app first (Vesla's own label says so), else a system
 * container by name (as the seed matched them: the name contains one of SYSTEM_NAMES), else
 * neither: each container is in one list at most, and `total` counts the two lists, not the engine.
 */
export function classify(c: ContainerView): "app" | "system" | undefined {
  if (appOf(c) !== undefined) return "app";
  const name = c.name.toLowerCase();
  return SYSTEM_NAMES.some((s) => name.includes(s)) ? "system" : undefined;
}

// Docker's zero time, which the seed passed on for a container never started.
const NEVER = "0001-01-01T00:00:00Z";

export function veslaApp(c: ContainerView): VeslaApp {
  const ports: VeslaApp["ports"] = {};
  for (const p of c.ports) {
    const key = `${p.private}/${p.type}`;
    const bindings = ports[key] ?? (p.public === undefined ? null : []);
    if (p.public !== undefined) bindings?.push({ HostIp: p.ip ?? "", HostPort: String(p.public) });
    ports[key] = bindings;
  }
  return {
    id: c.id.slice(0, 12),
    name: c.name,
    status: c.state,
    image: c.image,
    created: new Date(c.created * 1000).toISOString().replace(".000Z", "Z"),
    started: c.started_at ?? NEVER,
    ports,
    labels: c.labels,
    is_running: c.state === "running",
  };
}

/**
 * The container a Vesla path names: the app of that name (its container is named after it by
 * Vesla's deployer; if several carry the label, the one named so, else the newest), else the
 * container of that name or id, as the seed's `containers.get(name)` found it.
 */
export function findApp(env: Environment, name: string): ContainerView | undefined {
  const labelled = env.containers
    .list()
    .filter((c) => appOf(c) === name)
    .sort((a, b) => Number(b.name === name) - Number(a.name === name) || b.created - a.created);
  return labelled[0] ?? env.containers.find(name);
}
