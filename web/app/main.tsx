import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Prefs } from "../../src/protocol/prefs.ts";
import { LoginPage } from "../features/auth/login-page.tsx";
import { SetupPage } from "../features/auth/setup-page.tsx";
import { ApiError, api, errorMessage, setUnauthorizedHandler } from "../lib/api.ts";
import { applyTheme } from "../lib/theme.ts";
import type { User } from "../lib/types.ts";
import { HOME, navigate, sendToLogin, takeReturnTo, useRoute } from "./route.ts";
import { Shell } from "./shell.tsx";

/** undefined: not known yet; null: nobody logged in. */
type Session = User | null | undefined;

function App() {
  const route = useRoute();
  const [user, setUser] = useState<Session>(undefined);
  const [setupNeeded, setSetupNeeded] = useState(false);
  const [bootError, setBootError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => setUnauthorizedHandler(() => setUser(null)), []);

  useEffect(() => {
    (async () => {
      setBootError(null);
      try {
        const { needed } = await api<{ needed: boolean }>("GET", "/setup");
        setSetupNeeded(needed);
        if (needed) {
          setUser(null);
          return;
        }
        const me = await api<{ user: User; prefs: Prefs }>("GET", "/auth/me");
        applyTheme(me.prefs.theme);
        setUser(me.user);
      } catch (err) {
        // A 401 already sent us to the login page; anything else leaves nothing to show.
        if (!(err instanceof ApiError && err.status === 401)) setBootError(errorMessage(err));
      }
    })();
  }, [attempt]);

  // Keep the address in line with what is shown, so reloads and bookmarks land on the right page.
  useEffect(() => {
    if (user === undefined) return;
    if (setupNeeded) navigate("#/setup");
    else if (user === null) sendToLogin();
    else if (route.page === "login" || route.page === "setup") navigate(HOME);
  }, [user, setupNeeded, route.page]);

  if (bootError) {
    return (
      <main class="auth">
        <div class="card">
          <h1>GhostPanel</h1>
          <p class="alert" role="alert">
            {bootError}
          </p>
          <button type="button" class="primary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (user === undefined) return <p class="boot muted">Loading…</p>;
  if (setupNeeded) {
    return (
      <SetupPage
        onDone={(u) => {
          setSetupNeeded(false);
          setUser(u);
          navigate(HOME);
        }}
      />
    );
  }
  if (!user) {
    return (
      <LoginPage
        onDone={(u) => {
          setUser(u);
          navigate(takeReturnTo());
        }}
      />
    );
  }
  // Logged in on the login page: the effect above moves on to the panel.
  if (route.page === "login" || route.page === "setup") return <p class="boot muted">Loading…</p>;
  return (
    <Shell
      user={user}
      route={route}
      onUser={setUser}
      onLoggedOut={() => {
        setUser(null);
        navigate("#/login");
      }}
    />
  );
}

render(<App />, document.getElementById("app")!);
