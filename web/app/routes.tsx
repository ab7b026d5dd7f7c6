/**
 * Every page behind the login and what shows it. Pages beyond the container list load on first
 * visit (each dynamic import is a chunk of its own): the login page and the list stay small.
 */
import type { ComponentChildren, ComponentType } from "preact";
import { ContainerPage } from "../features/containers/container-page.tsx";
import { ContainersPage } from "../features/containers/containers-page.tsx";
import { lazy } from "../lib/lazy.ts";
import { useUser } from "./contexts.ts";
import type { Route } from "./route.ts";

type ShellRoute = Exclude<Route, { page: "login" | "setup" }>;
type Views = { [P in ShellRoute["page"]]: (route: Extract<ShellRoute, { page: P }>) => ComponentChildren };

/** A page component whose module loads on first render. */
function lazyPage<M, P extends object>(
  load: () => Promise<M>,
  pick: (m: M) => ComponentType<P>,
): ComponentType<P> {
  const useModule = lazy(load);
  return function LazyPage(props: P) {
    const loaded = useModule();
    if (!loaded || "error" in loaded) return <Loading error={loaded?.error} />;
    const Page = pick(loaded.module);
    return <Page {...props} />;
  };
}

/** Modules that show graphs wait for uPlot's stylesheet before their first render. */
const whenReady = async <M extends { ready: Promise<void> }>(m: M): Promise<M> => {
  await m.ready;
  return m;
};

const CreatePage = lazyPage(
  () => import("../features/containers/create/create-page.tsx"),
  (m) => m.CreatePage,
);
const TopPage = lazyPage(
  () => import("../features/stats/top-page.tsx"),
  (m) => m.TopPage,
);
const HostPage = lazyPage(
  () => import("../features/stats/host-page.tsx").then(whenReady),
  (m) => m.HostPage,
);
const AuditPage = lazyPage(
  () => import("../features/audit/audit-page.tsx"),
  (m) => m.AuditPage,
);
const RegistriesPage = lazyPage(
  () => import("../features/registries/registries-page.tsx"),
  (m) => m.RegistriesPage,
);
const AccessPages = lazyPage(
  () => import("../features/access/access-pages.tsx"),
  (m) => m.AccessPages,
);

const NetworksPage = lazyPage(
  () => import("../features/networks/networks-page.tsx"),
  (m) => m.NetworksPage,
);
const NetworkPage = lazyPage(
  () => import("../features/networks/network-page.tsx"),
  (m) => m.NetworkPage,
);
const SystemPage = lazyPage(
  () => import("../features/system/system-page.tsx"),
  (m) => m.SystemPage,
);
const VolumesPage = lazyPage(
  () => import("../features/volumes/volumes-page.tsx"),
  (m) => m.VolumesPage,
);
const VolumePage = lazyPage(
  () => import("../features/volumes/volume-page.tsx"),
  (m) => m.VolumePage,
);
const AppsPage = lazyPage(
  () => import("../features/apps/apps-page.tsx"),
  (m) => m.AppsPage,
);
const AppPage = lazyPage(
  () => import("../features/apps/app-page.tsx"),
  (m) => m.AppPage,
);
const AlertsPage = lazyPage(
  () => import("../features/alerts/alerts-page.tsx"),
  (m) => m.AlertsPage,
);
const LogsPage = lazyPage(
  () => import("../features/logs/logs-page.tsx"),
  (m) => m.LogsPage,
);
const ImagePages = lazyPage(
  () => import("../features/images/image-pages.tsx"),
  (m) => m.ImagePages,
);

const HomePage = lazyPage(
  () => import("../features/envs/home-page.tsx"),
  (m) => m.HomePage,
);

const VIEWS: Views = {
  containers: () => <ContainersPage />,
  container: (r) => <ContainerPage id={r.id} tab={r.tab} />,
  create: (r) => <CreatePage from={r.from} edit={r.edit} />,
  top: () => <TopPage />,
  host: () => <HostPage />,
  audit: () => <AuditPage />,
  registries: () => <RegistriesPage />,
  account: () => <AccessPages page="account" />,
  users: () => <AccessPages page="users" />,
  teams: () => <AccessPages page="teams" />,
  security: () => <AccessPages page="security" />,
  networks: () => <NetworksPage />,
  network: (r) => <NetworkPage id={r.id} />,
  system: () => <SystemPage />,
  volumes: () => <VolumesPage />,
  volume: (r) => <VolumePage name={r.name} />,
  apps: () => <AppsPage />,
  app: (r) => <AppPage name={r.id} />,
  alerts: () => <AlertsPage />,
  images: () => <ImagePages />,
  image: (r) => <ImagePages id={r.id} />,
  home: () => <HomePage />,
  logs: (r) => <LogsPage ids={r.ids} />,
};

/** Pages of the panel's administration: not linked for others, and said so plainly if opened. */
const ADMIN_PAGES = new Set<ShellRoute["page"]>(["audit", "users", "teams", "security"]);

export function PageFor({ route }: { route: ShellRoute }) {
  const role = useUser().role;
  if (ADMIN_PAGES.has(route.page) && role !== "admin") {
    return (
      <main class="page">
        <p class="alert" role="alert" data-testid="admins-only">
          This page is for admins. Your role ({role}) cannot open it.
        </p>
      </main>
    );
  }
  return <>{(VIEWS[route.page] as (r: ShellRoute) => ComponentChildren)(route)}</>;
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
