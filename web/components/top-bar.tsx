import type { User } from "../lib/types.ts";

interface Props {
  user: User;
  onLogout: () => void;
}

export function TopBar({ user, onLogout }: Props) {
  return (
    <header class="top">
      <a class="brand" href="#/containers">
        GhostPanel
      </a>
      <span class="user" data-testid="user">
        {user.username}
      </span>
      <button type="button" class="quiet" data-testid="logout" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}
