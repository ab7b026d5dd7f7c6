import { api } from "../../lib/api.ts";
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
        const { user } = await api<{ user: User }>("POST", "/auth/login", { username, password });
        onDone(user);
      }}
    >
      <TlsFingerprint />
    </AuthForm>
  );
}
