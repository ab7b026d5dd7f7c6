import type { Prefs } from "../../../src/protocol/prefs.ts";
import { api } from "../../lib/api.ts";
import { applyTheme } from "../../lib/theme.ts";
import type { User } from "../../lib/types.ts";
import { AuthForm } from "./auth-form.tsx";
import { TlsFingerprint } from "./tls-fingerprint.tsx";

export function LoginPage({ onDone }: { onDone: (user: User) => void }) {
  return (
    <AuthForm
      title="Log in to GhostPanel"
      submitLabel="Log in"
      passwordAutocomplete="current-password"
      validate={(username, password) => (username && password ? null : "Enter your username and password.")}
      onSubmit={async (username, password) => {
        const { user, prefs } = await api<{ user: User; prefs: Prefs }>("POST", "/auth/login", {
          username,
          password,
        });
        applyTheme(prefs.theme);
        onDone(user);
      }}
    >
      <TlsFingerprint />
    </AuthForm>
  );
}
