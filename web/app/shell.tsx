import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { CLOSE } from "../../src/protocol/close-codes.ts";
import { api, errorMessage, sessionEnded } from "../lib/api.ts";
import { useEnvs, useStreamStatus } from "../lib/live.ts";
import { ReportError } from "../lib/report.ts";
import { Stream, streamUrl } from "../lib/stream.ts";
import type { Me, User } from "../lib/types.ts";
import { ErrorAlert } from "../ui/error-alert.tsx";
import { Toasts } from "../ui/toasts.tsx";
import { type CurrentEnv, EnvContext, StreamContext, UserContext, useUser } from "./contexts.ts";
import { EngineBanner } from "./engine-banner.tsx";
import { DEFAULT_ENV, isEnvRoute, type Route } from "./route.ts";
import { PageFor } from "./routes.tsx";
import { TopBar } from "./top-bar.tsx";

const ERROR_SHOWN_MS = 15_000;

interface Props {
  user: User;
  route: Exclude<Route, { page: "login" | "setup" }>;
  /** The user as the server now sees it (after a change of role). */
  onUser: (user: User) => void;
  onLoggedOut: () => void;
}

/** Everything behind the login: owns the live stream for as long as the user is logged in. */
export function Shell({ user, route, onUser, onLoggedOut }: Props) {
  const [stream] = useState(() => new Stream(streamUrl()));
  useEffect(() => () => stream.close(), [stream]);
  return (
    <StreamContext.Provider value={stream}>
      <UserContext.Provider value={user}>
        <ShellBody stream={stream} route={route} onUser={onUser} onLoggedOut={onLoggedOut} />
      </UserContext.Provider>
    </StreamContext.Provider>
  );
}

function ShellBody({ stream, route, onUser, onLoggedOut }: Omit<Props, "user"> & { stream: Stream }) {
  const status = useStreamStatus(stream);
  const envs = useEnvs();
  // Panel-wide pages (users, audit…) keep the environment last shown, for the switcher and the links.
  const lastEnv = useRef(DEFAULT_ENV);
  if (isEnvRoute(route)) lastEnv.current = route.env;
  const envId = lastEnv.current;
  const env = useMemo<CurrentEnv>(
    () => ({ id: envId, view: envs?.find((e) => e.id === envId), all: envs }),
    [envId, envs],
  );
  const [error, setError] = useState<{ text: string } | null>(null);
  // On an environment's pages the user acts with the role it has there (a team given that whole
  // engine sets it), so the page offers what the server will allow.
  const user = useUser();
  const envRole = isEnvRoute(route) ? env.view?.role : undefined;
  const here = useMemo(
    () => (envRole && envRole !== user.role ? { ...user, role: envRole } : user),
    [user, envRole],
  );

  // A refused upgrade looks like any network failure to a browser; asking the REST API tells an
  // expired session (its 401 sends the user to the login page) from a panel that is down.
  useEffect(() => {
    if (status === "lost") api("GET", "/auth/me").catch(() => {});
  }, [status]);

  // Ended by the server: a session gone means logging in again; a new role means what this user may
  // see changed, so learn it before streaming again.
  useEffect(
    () =>
      stream.onEnded((code) => {
        if (code === CLOSE.SESSION_ENDED) sessionEnded();
        else
          api<Me>("GET", "/auth/me")
            .then(({ user }) => onUser(user), report)
            // Even after a failure: a refused stream retries by itself, and its "lost" check above asks again.
            .finally(() => stream.reconnect());
      }),
    [stream],
  );

  useEffect(() => {
    if (!error) return;
    const timer = setTimeout(() => setError(null), ERROR_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [error]);

  // An error belongs to the page it happened on.
  useEffect(() => setError(null), [location.hash]);

  // `/` goes to the page's search, as on most sites with one; not while typing somewhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      const search = document.querySelector<HTMLInputElement>('main input[type="search"]');
      if (!search) return;
      e.preventDefault();
      search.focus();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const report = (err: unknown) => setError({ text: errorMessage(err) });
  return (
    <EnvContext.Provider value={env}>
      <ReportError.Provider value={report}>
        <Toasts>
          {/* A button, not a link: the address is the router's, so this moves focus instead. */}
          <button
            type="button"
            class="skip-link"
            onClick={() => {
              const main = document.querySelector<HTMLElement>("main");
              main?.setAttribute("tabindex", "-1");
              main?.focus();
            }}
          >
            Skip to content
          </button>
          <TopBar route={route} onLogout={() => api("POST", "/auth/logout").then(onLoggedOut, report)} />
          <div class="notices">
            <EngineBanner status={status} env={env.view} />
            <ErrorAlert message={error?.text ?? null} onDismiss={() => setError(null)} />
          </div>
          <UserContext.Provider value={here}>
            <PageFor route={route} />
          </UserContext.Provider>
        </Toasts>
      </ReportError.Provider>
    </EnvContext.Provider>
  );
}
