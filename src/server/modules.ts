import { registerAlertTopic } from "../alerts/topic.ts";
import { registerExecTopic } from "../containers/exec-topic.ts";
import { registerLogTopic } from "../containers/logs-topic.ts";
import { registerContainerTopic } from "../containers/topic.ts";
import type { ListKind } from "../envs/list-mirror.ts";
import { registerEnvironmentTopic } from "../envs/topic.ts";
import type { RouteTable } from "../http/route-table.ts";
import { IMAGES } from "../images/kind.ts";
import { registerImageTopic } from "../images/topic.ts";
import { registerJobTopic } from "../jobs/topic.ts";
import { NETWORKS } from "../networks/kind.ts";
import { registerNetworkTopic } from "../networks/topic.ts";
import { registerStatsTopic } from "../stats/topic.ts";
import type { TopicBus } from "../stream/bus.ts";
import { registerEventsTopic } from "../system/events-topic.ts";
import { registerUpdateTopic } from "../updates/topic.ts";
import { VOLUMES } from "../volumes/kind.ts";
import { registerVolumeTopic } from "../volumes/topic.ts";
import type { PanelDeps } from "./deps.ts";

/** Every route module has this one signature; each declares the part of PanelDeps it uses. */
export type RouteModule = (routes: RouteTable, deps: PanelDeps) => void;
/** A route module by name (its entry in the manifest), loaded when first asked for. */
export interface RouteModuleRef {
  name: string;
  load: () => Promise<RouteModule>;
}
/** Every stream topic module, likewise. */
export type TopicModule = (bus: TopicBus, deps: PanelDeps) => void;

/**
 * The API, module by module: a new resource adds its routes here, then runs
 * `bun scripts/route-manifest.ts` (their methods, paths and policies, declared before the module
 * loads: src/server/routes.generated.ts). Each module loads on the first request to one of its
 * routes. Order matters only within a module.
 */
export const ROUTE_MODULES: RouteModuleRef[] = [
  { name: "health", load: async () => (await import("./health-routes.ts")).healthRoutes },
  { name: "auth", load: async () => (await import("../auth/routes.ts")).authRoutes },
  { name: "users", load: async () => (await import("../auth/user-routes.ts")).userRoutes },
  { name: "teams", load: async () => (await import("../auth/team-routes.ts")).teamRoutes },
  { name: "envs", load: async () => (await import("../envs/routes.ts")).envRoutes },
  { name: "containers", load: async () => (await import("../containers/routes.ts")).containerRoutes },
  { name: "settings", load: async () => (await import("../settings/routes.ts")).settingsRoutes },
  { name: "stream", load: async () => (await import("../stream/route.ts")).streamRoutes },
  { name: "stats", load: async () => (await import("../stats/routes.ts")).statsRoutes },
  { name: "metrics", load: async () => (await import("../stats/metrics-routes.ts")).metricsRoutes },
  { name: "audit", load: async () => (await import("../audit/routes.ts")).auditRoutes },
  { name: "jobs", load: async () => (await import("../jobs/routes.ts")).jobRoutes },
  { name: "networks", load: async () => (await import("../networks/routes.ts")).networkRoutes },
  { name: "system", load: async () => (await import("../system/routes.ts")).systemRoutes },
  { name: "volumes", load: async () => (await import("../volumes/routes.ts")).volumeRoutes },
  { name: "vesla", load: async () => (await import("../vesla/routes.ts")).veslaRoutes },
  { name: "history", load: async () => (await import("../history/routes.ts")).historyRoutes },
  { name: "alerts", load: async () => (await import("../alerts/routes.ts")).alertRoutes },
  // before imageRoutes: its /images/{id} would take "get" (the export) for an id
  {
    name: "image-transfers",
    load: async () => (await import("../images/transfer-routes.ts")).imageTransferRoutes,
  },
  { name: "image-builds", load: async () => (await import("../images/build-routes.ts")).imageBuildRoutes },
  { name: "images", load: async () => (await import("../images/routes.ts")).imageRoutes },
  { name: "registries", load: async () => (await import("../registries/routes.ts")).registryRoutes },
  { name: "updates", load: async () => (await import("../updates/routes.ts")).updateRoutes },
  { name: "overview", load: async () => (await import("../envs/overview-routes.ts")).overviewRoutes },
  { name: "agents", load: async () => (await import("../agent/routes.ts")).agentRoutes },
];

/** The live stream's topics: a new resource adds its topics here. */
export const TOPIC_MODULES: TopicModule[] = [
  registerEnvironmentTopic,
  registerContainerTopic,
  registerLogTopic,
  registerExecTopic,
  registerStatsTopic,
  registerJobTopic,
  registerNetworkTopic,
  registerEventsTopic,
  registerVolumeTopic,
  registerAlertTopic,
  registerImageTopic,
  registerUpdateTopic,
];

/** The kinds of engine object mirrored beside containers, as lists (src/envs/list-mirror.ts). */
export const LIST_KINDS: ListKind<{ id: string }>[] = [NETWORKS, VOLUMES, IMAGES];
