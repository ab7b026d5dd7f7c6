import type { Route } from "../lib/route.ts";
import type { User } from "../lib/types.ts";

interface Props {
  user: User;
  page: Route["page"];
  onLogout: () => void;
}

const NAV: { href: string; label: string; pages: Route["page"][]; testid: string; adminOnly?: true }[] = [
  { href: "#/containers", label: "Containers", pages: ["containers", "container"], testid: "nav-containers" },
  { href: "#/top", label: "Overview", pages: ["top", "host"], testid: "nav-top" },
  { href: "#/audit", label: "Audit", pages: ["audit"], testid: "nav-audit", adminOnly: true },
];

export function TopBar({ user, page, onLogout }: Props) {
  return (
    <header class="top">
      <a class="brand" href="#/containers">
        GhostPanel
      </a>
      <nav class="nav" aria-label="Main">
        {NAV.filter((n) => !n.adminOnly || user.role === "admin").map((n) => (
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
