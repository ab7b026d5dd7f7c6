import { api } from "../../lib/api.ts";
import type { User } from "../../lib/types.ts";
import { AuthForm } from "./auth-form.tsx";

function validate(username: string, password: string): string | null {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(username)) {
    return "The username needs 1 to 64 characters: letters, digits, '_', '.' or '-'.";
  }
  if (password.length < 8) return "The password needs at least 8 characters.";
  return null;
}

export function SetupPage({ onDone }: { onDone: (user: User) => void }) {
  return (
    <AuthForm
      title="Welcome to GhostPanel"
      submitLabel="Create admin account"
      passwordAutocomplete="new-password"
      validate={validate}
      onSubmit={async (username, password) => {
        const { user } = await api<{ user: User }>("POST", "/setup", { username, password });
        onDone(user);
      }}
    >
      <p class="muted">Create the administrator account to finish setting up the panel.</p>
    </AuthForm>
  );
}
