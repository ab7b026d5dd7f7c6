import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { errorMessage } from "../../lib/api.ts";
import { TextField } from "../../ui/text-field.tsx";

interface Props {
  title: string;
  submitLabel: string;
  /** Password autocomplete hint: a new password at setup, the stored one at login. */
  passwordAutocomplete: "new-password" | "current-password";
  /** Returns a message when the input is unacceptable, checked before anything is sent. */
  validate?: (username: string, password: string) => string | null;
  onSubmit: (username: string, password: string) => Promise<void>;
  children?: ComponentChildren;
}

/** Username and password form shared by first-run setup and login. */
export function AuthForm({ title, submitLabel, passwordAutocomplete, validate, onSubmit, children }: Props) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  return (
    <main class="auth">
      {/* noValidate: problems are reported in the alert below, the same way the server's are */}
      <form
        class="card"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const problem = validate?.(username, password) ?? null;
          setError(problem);
          if (problem) return;
          setBusy(true);
          try {
            await onSubmit(username, password);
          } catch (err) {
            setError(errorMessage(err));
            setBusy(false);
          }
        }}
      >
        <h1>{title}</h1>
        {children}
        <TextField
          label="Username"
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          value={username}
          onValue={setUsername}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autocomplete={passwordAutocomplete}
          value={password}
          onValue={setPassword}
        />
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {submitLabel}
        </button>
      </form>
    </main>
  );
}
