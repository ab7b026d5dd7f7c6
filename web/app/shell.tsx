import { useEffect, useState } from "preact/hooks";
import { CLOSE } from "../../src/protocol/close-codes.ts";
import { ContainerPage } from "../features/containers/container-page.tsx";
import { ContainersPage } from "../features/containers/containers-page.tsx";
import { api, errorMessage, sessionEnded } from "../lib/api.ts";
import { lazy } from "../lib/lazy.ts";
import { useContainers, useEnvs, useStreamStatus } from "../lib/live.ts";
import { ReportError } from "../lib/report.ts";
import { Stream, streamUrl } from "../lib/stream.ts";
import type { Me, User } from "../lib/types.ts";
import { ErrorAlert } from "../ui/error-alert.tsx";
import { EngineBanner } from "./engine-banner.tsx";
import { type AccessPage, isAccessPage, type Route } from "./route.ts";
import { TopBar } from "./top-bar.tsx";

/** The one environment the UI drives for now; everything below takes it as a parameter. */
const ENV = "local";
const ERROR_SHOWN_MS = 15_000;

// Pages beyond the container list load on first visit: the login page and the list stay small.
const useTopPage = lazy(() => import("../features/stats/top-page.tsx"));
const useAuditPage = lazy(() => import("../features/audit/audit-page.tsx"));
const useHostPage = lazy(() =>
  import("../features/stats/host-page.tsx").then(async (m) => {
    await m.ready;
    return m;
  }),
);
const useAccessPages = lazy(() => import("../features/access/access-pages.tsx"));

interface Props {
  user: User;
  route: Route;
  /** The user as the server now sees it (after a change of role). */
  onUser: (user: User) => void;
  onLoggedOut: () => void;
}

/** Everything behind the login: owns the live stream for as long as the user is logged in. */
export function Shell({ user, route, onUser, onLoggedOut }: Props) {
  const [stream] = useState(() => new Stream(streamUrl()));
  useEffect(() => () => stream.close(), [stream]);
  const status = useStreamStatus(stream);
  const envs = useEnvs(stream);
  const live = useContainers(stream, ENV);
  const env = envs?.find((e) => e.id === ENV);
  const [error, setError] = useState<{ text: string } | null>(null);

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

  const routeKey = route.page === "container" ? route.id : route.page;
  // An error belongs to the page it happened on.
  useEffect(() => setError(null), [routeKey]);

  const report = (err: unknown) => setError({ text: errorMessage(err) });
  return (
    <ReportError.Provider value={report}>
      <TopBar
        user={user}
        page={route.page}
        onLogout={() => api("POST", "/auth/logout").then(onLoggedOut, report)}
      />
      <div class="notices">
        <EngineBanner status={status} env={env} />
        <ErrorAlert message={error?.text ?? null} onDismiss={() => setError(null)} />
      </div>
      {route.page === "container" ? (
        <ContainerPage
          env={ENV}
          caps={env?.capabilities}
          live={live}
          stream={stream}
          id={route.id}
          canExec={user.role === "admin" || user.role === "operator"}
        />
      ) : route.page === "top" ? (
        <TopRoute stream={stream} />
      ) : route.page === "host" ? (
        <HostRoute stream={stream} />
      ) : route.page === "audit" ? (
        <AuditRoute user={user} />
      ) : isAccessPage(route.page) ? (
        <AccessRoute page={route.page} user={user} />
      ) : (
        <ContainersPage env={ENV} caps={env?.capabilities} live={live} />
      )}
    </ReportError.Provider>
  );
}

function TopRoute({ stream }: { stream: Stream }) {
  const loaded = useTopPage();
  if (!loaded || "error" in loaded) return <Loading error={loaded?.error} />;
  return <loaded.module.TopPage env={ENV} stream={stream} />;
}

function HostRoute({ stream }: { stream: Stream }) {
  const loaded = useHostPage();
  if (!loaded || "error" in loaded) return <Loading error={loaded?.error} />;
  return <loaded.module.HostPage env={ENV} stream={stream} />;
}

function AuditRoute({ user }: { user: User }) {
  const loaded = useAuditPage();
  if (!loaded || "error" in loaded) return <Loading error={loaded?.error} />;
  return <loaded.module.AuditPage canManage={user.role === "admin"} />;
}

function AccessRoute({ page, user }: { page: AccessPage; user: User }) {
  const loaded = useAccessPages();
  if (!loaded || "error" in loaded) return <Loading error={loaded?.error} />;
  return <loaded.module.AccessPages page={page} user={user} />;
}

function Loading({ error }: { error?: string | undefined }) {
  return (
    <main class="page">
      {error ? (
        <p class="alert" role="alert">
          {error}
        </p>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </main>
  );
}
