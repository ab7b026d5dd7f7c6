/** The labels Vesla's deployer puts on every app container (docs/vesla.md). */
export const VESLA_MANAGED_LABEL = "vesla.managed";
export const VESLA_APP_LABEL = "vesla.app";
export const VESLA_DOMAIN_LABEL = "vesla.domain";

/**
 * The app a container runs, by Vesla's own marker: `vesla.managed=true` and the app's name in
 * `vesla.app`. (The seed console tested `vesla.app == "true"` and names containing "vesla-",
 * which took its own system containers for apps and never matched a real app.)
 */
export function appOf(container: { labels: Record<string, string> }): string | undefined {
  if (container.labels[VESLA_MANAGED_LABEL] !== "true") return undefined;
  const app = container.labels[VESLA_APP_LABEL];
  return app ? app : undefined;
}
