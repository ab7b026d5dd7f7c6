import type { User } from "../lib/types.ts";
import type { Route } from "./route.ts";

interface Props {
  user: User;
  page: Route["page"];
  onLogout: () => void;
}

interface NavLink {
  href: string;
  label: string;
  pages: Route["page"][];
  testid: string;
  adminOnly?: true;
}

const NAV: NavLink[] = [
  { href: "#/containers", label: "Containers", pages: ["containers", "container"], testid: "nav-containers" },
  { href: "#/top", label: "Overview", pages: ["top", "host"], testid: "nav-top" },
  { href: "#/audit", label: "Audit", pages: ["audit"], testid: "nav-audit", adminOnly: true },
];

/** Access control (issue #4): the account for everyone, who may do what for admins only. */
const ACCESS_NAV: NavLink[] = [
  { href: "#/account", label: "Account", pages: ["account"], testid: "nav-account" },
  { href: "#/users", label: "Users", pages: ["users"], testid: "nav-users", adminOnly: true },
  { href: "#/teams", label: "Teams", pages: ["teams"], testid: "nav-teams", adminOnly: true },
  { href: "#/security", label: "Security", pages: ["security"], testid: "nav-security", adminOnly: true },
];

export function TopBar({ user, page, onLogout }: Props) {
  return (
    <header class="top">
      <a class="brand" href="#/containers">
        GhostPanel
      </a>
      <nav class="nav" aria-label="Main">
        {[...NAV, ...ACCESS_NAV]
          .filter((n) => !n.adminOnly || user.role === "admin")
          .map((n) => (
            <a
              key={n.href}
              href={n.href}
              data-testid={n.testid}
              aria-current={n.pages.includes(page) ? "page" : undefined}
            >
              {n.label}
            </a>
          ))}
      </nav>
      <span class="user" data-testid="user">
        {user.username}
      </span>
      <button type="button" class="quiet" data-testid="logout" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}
