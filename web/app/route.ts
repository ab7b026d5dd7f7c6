/** The address (`location.hash`) and what it names: pages of one environment, or panel-wide ones. */
import { useEffect, useState } from "preact/hooks";

/** Pages of one environment: `#/envs/<env>/<page>`. */
export type EnvRoute =
  | { page: "containers"; env: string }
  | { page: "container"; env: string; id: string; tab?: string | undefined }
  /** the create form; `from`: a container whose settings fill it (Duplicate) */
  | { page: "create"; env: string; from?: string | undefined }
  | { page: "top"; env: string }
  | { page: "host"; env: string };

export type Route =
  | EnvRoute
  | { page: "setup" }
  | { page: "login" }
  | { page: "audit" }
  | { page: "registries" }
  | { page: AccessPage };

/** Account, users, teams and security settings: loaded together, on first visit to any of them. */
export const ACCESS_PAGES = ["account", "users", "teams", "security"] as const;
export type AccessPage = (typeof ACCESS_PAGES)[number];

/** The environment always there: the engine given on the command line. */
export const DEFAULT_ENV = "local";

export function isAccessPage(part: string | undefined): part is AccessPage {
  return (ACCESS_PAGES as readonly (string | undefined)[]).includes(part);
}

export function isEnvRoute(route: Route): route is EnvRoute {
  return "env" in route;
}

/** A route, or the address it moved to: links from before environments were in the address. */
export function parseRoute(hash: string): Route | { redirect: string } {
  const parts = hash.replace(/^#\/?/, "").split("/").map(safeDecode);
  switch (parts[0]) {
    case "envs":
      if (parts[1]) return envRoute(parts[1], parts.slice(2));
      break;
    case "setup":
    case "login":
    case "audit":
    case "registries":
      return { page: parts[0] };
    case "containers":
    case "top":
    case "host":
      return { redirect: envHref(envRoute(DEFAULT_ENV, parts)) };
    default:
      if (isAccessPage(parts[0])) return { page: parts[0] };
  }
  return { redirect: envHref({ page: "containers", env: DEFAULT_ENV }) };
}

function envRoute(env: string, [page, id, tab]: string[]): EnvRoute {
  if (page === "containers" && id) return { page: "container", env, id, tab: tab || undefined };
  if (page === "create") return { page: "create", env, from: id || undefined };
  if (page === "top" || page === "host") return { page, env };
  return { page: "containers", env };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function envHref(route: EnvRoute): string {
  const base = `#/envs/${encodeURIComponent(route.env)}`;
  if (route.page === "container") {
    return `${base}/containers/${encodeURIComponent(route.id)}${route.tab ? `/${encodeURIComponent(route.tab)}` : ""}`;
  }
  if (route.page === "create")
    return `${base}/create${route.from ? `/${encodeURIComponent(route.from)}` : ""}`;
  return `${base}/${route.page}`;
}

/** Where the panel opens: the default environment's containers. */
export const HOME = envHref({ page: "containers", env: DEFAULT_ENV });

export function containerHref(env: string, id: string): string {
  return envHref({ page: "container", env, id });
}

/** Reads the address at each render: a redirect made just before it must not be undone by a stale route. */
export function useRoute(): Route {
  const [, rerender] = useState(0);
  useEffect(() => {
    const update = () => rerender((n) => n + 1);
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  const parsed = parseRoute(location.hash);
  if (!("redirect" in parsed)) return parsed;
  navigate(parsed.redirect);
  return parseRoute(parsed.redirect) as Route;
}

export function navigate(hash: string): void {
  // replace, not push: redirects (guards, after login) must not leave a step the Back button bounces on.
  if (location.hash !== hash) location.replace(hash);
}

let returnTo: string | null = null;

/** To the login page, remembering the page the user was on to come back to it. */
export function sendToLogin(): void {
  const here = location.hash;
  if (/^#\/(login|setup)\b/.test(here)) return;
  returnTo = here;
  navigate("#/login");
}

/** Where to go after logging in: the page the user was sent away from, once. */
export function takeReturnTo(): string {
  const to = returnTo ?? HOME;
  returnTo = null;
  return to;
}
