/**
 * Vesla apps and deployment history as the API carries them (src/vesla/, src/history/), and what
 * makes a container an app, which the policy and the UI read alike. No runtime imports: the UI bundles it.
 */

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

/** The Vesla Console's App: one container as `GET /api/apps` lists it. */
export interface VeslaApp {
  id: string;
  name: string;
  status: string;
  image: string;
  created: string;
  started: string;
  /** Docker's NetworkSettings.Ports: `{"80/tcp": [{HostIp, HostPort}]}`, null for a port not published */
  ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  labels: Record<string, string>;
  is_running: boolean;
}

/** One deployment: a container name that came back running another image. */
export interface Deployment {
  id: number;
  /** ms since 1970: when the panel saw it */
  at: number;
  env: string;
  name: string;
  app: string | null;
  container_id: string;
  old_container_id: string;
  old_image: string;
  /** the image's content digest (sha256:…), which changes when a tag is rebuilt or pulled anew */
  old_image_id: string;
  new_image: string;
  new_image_id: string;
  labels: Record<string, string>;
  /** who, when the new container was created through the panel; null otherwise */
  user_id: number | null;
  username: string;
}
