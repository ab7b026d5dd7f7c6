import { ThemeToggle } from "../features/access/theme-toggle.tsx";
import { useEnv, useUser } from "./contexts.ts";
import { envHref, isEnvRoute, parseRoute, type Route } from "./route.ts";

interface Props {
  route: Route;
  onLogout: () => void;
}

interface NavLink {
  href: string;
  label: string;
  pages: Route["page"][];
  testid: string;
  adminOnly?: true;
}

function navLinks(env: string): NavLink[] {
  return [
    { href: "#/envs", label: "Environments", pages: ["home"], testid: "nav-home" },
    {
      href: envHref({ page: "containers", env }),
      label: "Containers",
      pages: ["containers", "container", "create"],
      testid: "nav-containers",
    },
    { href: envHref({ page: "top", env }), label: "Overview", pages: ["top", "host"], testid: "nav-top" },
    {
      href: envHref({ page: "networks", env }),
      label: "Networks",
      pages: ["networks", "network"],
      testid: "nav-networks",
    },
    {
      href: envHref({ page: "volumes", env }),
      label: "Volumes",
      pages: ["volumes", "volume"],
      testid: "nav-volumes",
    },
    { href: envHref({ page: "system", env }), label: "System", pages: ["system"], testid: "nav-system" },
    { href: envHref({ page: "apps", env }), label: "Apps", pages: ["apps", "app"], testid: "nav-apps" },
    { href: "#/alerts", label: "Alerts", pages: ["alerts"], testid: "nav-alerts" },
    {
      href: envHref({ page: "images", env }),
      label: "Images",
      pages: ["images", "image"],
      testid: "nav-images",
    },
    { href: "#/audit", label: "Audit", pages: ["audit"], testid: "nav-audit", adminOnly: true },
    {
      href: "#/registries",
      label: "Registries",
      pages: ["registries"],
      testid: "nav-registries",
      adminOnly: true,
    },
    // Access control (issue #4): the account for everyone, who may do what for admins only.
    { href: "#/account", label: "Account", pages: ["account"], testid: "nav-account" },
    { href: "#/users", label: "Users", pages: ["users"], testid: "nav-users", adminOnly: true },
    { href: "#/teams", label: "Teams", pages: ["teams"], testid: "nav-teams", adminOnly: true },
    { href: "#/security", label: "Security", pages: ["security"], testid: "nav-security", adminOnly: true },
  ];
}

/** Pages of one thing, which another environment does not have: its list there instead. */
const ONE_THING = new Set<Route["page"]>(["container", "create", "network", "volume", "app", "image"]);
const LIST_OF: Partial<Record<Route["page"], "networks" | "volumes" | "apps" | "images">> = {
  image: "images",
  network: "networks",
  volume: "volumes",
  app: "apps",
};

/** The same page in another environment; one container's or volume's page becomes that environment's list. */
function inEnv(route: Route, env: string): string {
  return envHref(
    isEnvRoute(route) && !ONE_THING.has(route.page)
      ? { ...route, env }
      : { page: LIST_OF[route.page] ?? "containers", env },
  );
}

export function TopBar({ route, onLogout }: Props) {
  const user = useUser();
  const env = useEnv();
  return (
    <header class="top">
      <a class="brand" href={envHref({ page: "containers", env: env.id })}>
        GhostPanel
      </a>
      <nav class="nav" aria-label="Main">
        {navLinks(env.id)
          .filter((n) => !n.adminOnly || user.role === "admin")
          .map((n) => (
            <a
              key={n.testid}
              href={n.href}
              data-testid={n.testid}
              aria-current={n.pages.includes(route.page) ? "page" : undefined}
            >
              {n.label}
            </a>
          ))}
      </nav>
      {env.all && env.all.length > 1 && (
        <select
          class="env-switcher"
          data-testid="env-switcher"
          aria-label="Environment"
          value={env.id}
          onChange={(e) => {
            // The address as it is now, not as last drawn: a link taken just before has changed it,
            // and the page it leads to may not be drawn yet (the kind of page would be the old one).
            const now = parseRoute(location.hash);
            // A step of its own in the history, unlike redirects: Back returns to the other environment.
            location.hash = inEnv("redirect" in now ? route : now, e.currentTarget.value);
          }}
        >
          {env.all.map((e) => (
            <option key={e.id} value={e.id}>
              {e.status === "up" ? e.name : `${e.name} (${e.status})`}
            </option>
          ))}
        </select>
      )}
      <ThemeToggle />
      <span class="user" data-testid="user">
        {user.username}
      </span>
      <button type="button" class="quiet" data-testid="logout" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}
