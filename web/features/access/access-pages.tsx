/** The access pages, one chunk loaded on first visit to any of them. */

import "./access.css";
import { useUser } from "../../app/contexts.ts";
import type { AccessPage } from "../../app/route.ts";
import { AccountPage } from "./account-page.tsx";
import { SecurityPage } from "./security-page.tsx";
import { TeamsPage } from "./teams-page.tsx";
import { UsersPage } from "./users-page.tsx";

export function AccessPages({ page }: { page: AccessPage }) {
  const user = useUser();
  if (page === "account") return <AccountPage />;
  // The server refuses these to others anyway; this says so instead of showing its 403s.
  if (user.role !== "admin") {
    return (
      <main class="page">
        <p class="alert" role="alert">
          Only admins can see this page.
        </p>
      </main>
    );
  }
  if (page === "users") return <UsersPage me={user} />;
  if (page === "teams") return <TeamsPage />;
  return <SecurityPage />;
}
