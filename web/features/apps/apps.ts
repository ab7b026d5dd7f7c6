import { appOf, VESLA_DOMAIN_LABEL } from "../../../src/protocol/apps.ts";
import type { ContainerItem } from "../../../src/protocol/views.ts";

export interface AppView {
  name: string;
  domain: string | undefined;
  /** the container serving it: the one named after it (as Vesla's deployer names it), else the newest */
  container: ContainerItem;
}

/** The Vesla apps among an engine's containers (those the caller may see), by name. */
export function appsOf(containers: ContainerItem[]): AppView[] {
  const byName = new Map<string, ContainerItem[]>();
  for (const c of containers) {
    const app = appOf(c);
    if (app !== undefined) byName.set(app, [...(byName.get(app) ?? []), c]);
  }
  return [...byName.entries()]
    .map(([name, list]) => {
      const container = [...list].sort(
        (a, b) => Number(b.name === name) - Number(a.name === name) || b.created - a.created,
      )[0]!;
      return { name, domain: container.labels[VESLA_DOMAIN_LABEL], container };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
