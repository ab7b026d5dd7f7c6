import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "setup" }
  | { page: "login" }
  | { page: "containers" }
  | { page: "container"; id: string }
  | { page: "top" }
  | { page: "host" }
  | { page: "audit" }
  | { page: AccessPage };

/** Account, users, teams and security settings: loaded together, on first visit to any of them. */
export const ACCESS_PAGES = ["account", "users", "teams", "security"] as const;
export type AccessPage = (typeof ACCESS_PAGES)[number];

export function isAccessPage(part: string | undefined): part is AccessPage {
  return (ACCESS_PAGES as readonly (string | undefined)[]).includes(part);
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(safeDecode);
  switch (parts[0]) {
    case "setup":
      return { page: "setup" };
    case "login":
      return { page: "login" };
    case "containers":
      if (parts[1]) return { page: "container", id: parts[1] };
      return { page: "containers" };
    case "top":
      return { page: "top" };
    case "host":
      return { page: "host" };
    case "audit":
      return { page: "audit" };
    default:
      if (isAccessPage(parts[0])) return { page: parts[0] };
      return { page: "containers" };
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Reads the address at each render: a redirect made just before it must not be undone by a stale route. */
export function useRoute(): Route {
  const [, rerender] = useState(0);
  useEffect(() => {
    const update = () => rerender((n) => n + 1);
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return parseRoute(location.hash);
}

export function navigate(hash: string): void {
  // replace, not push: redirects (guards, after login) must not leave a step the Back button bounces on.
  if (location.hash !== hash) location.replace(hash);
}

export function containerHref(id: string): string {
  return `#/containers/${encodeURIComponent(id)}`;
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
  const to = returnTo ?? "#/containers";
  returnTo = null;
  return to;
}
