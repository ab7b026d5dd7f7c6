/** The address (`location.hash`) and what it names: pages of one environment, or panel-wide ones. */
import { useEffect, useState } from "preact/hooks";

/** Pages of one environment: `#/envs/<env>/<page>`. */
export type EnvRoute =
  | { page: "containers"; env: string }
  | { page: "container"; env: string; id: string; tab?: string | undefined }
  /** the create form; `from`: a container whose settings fill it (Duplicate); `edit`: change `from` itself */
  | { page: "create"; env: string; from?: string | undefined; edit?: boolean | undefined }
  | { page: "top"; env: string }
  | { page: "host"; env: string }
  | { page: "networks"; env: string }
  | { page: "network"; env: string; id: string }
  | { page: "system"; env: string }
  | { page: "volumes"; env: string }
  | { page: "volume"; env: string; name: string }
  | { page: "apps"; env: string }
  | { page: "app"; env: string; id: string }
  | { page: "images"; env: string }
  | { page: "image"; env: string; id: string }
  | { page: "logs"; env: string; ids: string[] };

export type Route =
  | EnvRoute
  | { page: "setup" }
  | { page: "login" }
  | { page: "audit" }
  | { page: "alerts" }
  | { page: "registries" }
  | { page: AccessPage }
  /** every environment at a glance: `#/envs` */
  | { page: "home" };

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
  // A page's own state (the list's filters) rides after "?": not part of the route.
  const parts = hash.replace(/^#\/?/, "").split("?")[0]!.split("/").map(safeDecode);
  switch (parts[0]) {
    case "envs":
      if (parts[1]) return envRoute(parts[1], parts.slice(2));
      return { page: "home" };
    case "setup":
    case "login":
    case "audit":
    case "alerts":
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
  if (page === "create")
    return { page: "create", env, from: id || undefined, edit: (id && tab === "edit") || undefined };
  if (page === "images") return id ? { page: "image", env, id } : { page: "images", env };
  if (page === "top" || page === "host") return { page, env };
  if (page === "networks") return id ? { page: "network", env, id } : { page, env };
  if (page === "system") return { page, env };
  if (page === "volumes") return id ? { page: "volume", env, name: id } : { page, env };
  if (page === "apps") return id ? { page: "app", env, id } : { page: "apps", env };
  if (page === "logs" && id) return { page: "logs", env, ids: id.split(",").filter(Boolean) };
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
    return `${base}/create${route.from ? `/${encodeURIComponent(route.from)}${route.edit ? "/edit" : ""}` : ""}`;
  if (route.page === "network") return `${base}/networks/${encodeURIComponent(route.id)}`;
  if (route.page === "volume") return `${base}/volumes/${encodeURIComponent(route.name)}`;
  if (route.page === "app") return `${base}/apps/${encodeURIComponent(route.id)}`;
  if (route.page === "image") return `${base}/images/${encodeURIComponent(route.id)}`;
  if (route.page === "logs") return `${base}/logs/${route.ids.map(encodeURIComponent).join(",")}`;
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

/** The current page's own state in the address (after "?"), e.g. the container list's filters. */
export function hashQuery(): string {
  const at = location.hash.indexOf("?");
  return at < 0 ? "" : location.hash.slice(at + 1);
}

/** Keeps a page's state in the address without a new history step. */
export function setHashQuery(query: string): void {
  const base = location.hash.split("?")[0]!;
  navigate(query ? `${base}?${query}` : base);
}
