import { agentRoutes } from "../agent/routes.ts";
import { alertRoutes } from "../alerts/routes.ts";
import { registerAlertTopic } from "../alerts/topic.ts";
import { auditRoutes } from "../audit/routes.ts";
import { authRoutes } from "../auth/routes.ts";
import { teamRoutes } from "../auth/team-routes.ts";
import { userRoutes } from "../auth/user-routes.ts";
import { registerExecTopic } from "../containers/exec-topic.ts";
import { registerLogTopic } from "../containers/logs-topic.ts";
import { containerRoutes } from "../containers/routes.ts";
import { registerContainerTopic } from "../containers/topic.ts";
import type { ListKind } from "../envs/list-mirror.ts";
import { overviewRoutes } from "../envs/overview-routes.ts";
import { envRoutes } from "../envs/routes.ts";
import { registerEnvironmentTopic } from "../envs/topic.ts";
import { historyRoutes } from "../history/routes.ts";
import type { RouteTable } from "../http/route-table.ts";
import { imageBuildRoutes } from "../images/build-routes.ts";
import { IMAGES } from "../images/kind.ts";
import { imageRoutes } from "../images/routes.ts";
import { registerImageTopic } from "../images/topic.ts";
import { imageTransferRoutes } from "../images/transfer-routes.ts";
import { jobRoutes } from "../jobs/routes.ts";
import { registerJobTopic } from "../jobs/topic.ts";
import { NETWORKS } from "../networks/kind.ts";
import { networkRoutes } from "../networks/routes.ts";
import { registerNetworkTopic } from "../networks/topic.ts";
import { registryRoutes } from "../registries/routes.ts";
import { settingsRoutes } from "../settings/routes.ts";
import { metricsRoutes } from "../stats/metrics-routes.ts";
import { statsRoutes } from "../stats/routes.ts";
import { registerStatsTopic } from "../stats/topic.ts";
import type { TopicBus } from "../stream/bus.ts";
import { streamRoutes } from "../stream/route.ts";
import { registerEventsTopic } from "../system/events-topic.ts";
import { systemRoutes } from "../system/routes.ts";
import { updateRoutes } from "../updates/routes.ts";
import { registerUpdateTopic } from "../updates/topic.ts";
import { veslaRoutes } from "../vesla/routes.ts";
import { VOLUMES } from "../volumes/kind.ts";
import { volumeRoutes } from "../volumes/routes.ts";
import { registerVolumeTopic } from "../volumes/topic.ts";
import type { PanelDeps } from "./deps.ts";
import { healthRoutes } from "./health-routes.ts";

/** Every route module has this one signature; each declares the part of PanelDeps it uses. */
export type RouteModule = (routes: RouteTable, deps: PanelDeps) => void;
/** Every stream topic module, likewise. */
export type TopicModule = (bus: TopicBus, deps: PanelDeps) => void;

/** The API, module by module: a new resource adds its routes here. Order matters only within a module. */
export const ROUTE_MODULES: RouteModule[] = [
  healthRoutes,
  authRoutes,
  userRoutes,
  teamRoutes,
  envRoutes,
  containerRoutes,
  settingsRoutes,
  streamRoutes,
  statsRoutes,
  metricsRoutes,
  auditRoutes,
  jobRoutes,
  networkRoutes,
  systemRoutes,
  volumeRoutes,
  veslaRoutes,
  historyRoutes,
  alertRoutes,
  // before imageRoutes: its /images/{id} would take "get" (the export) for an id
  imageTransferRoutes,
  imageBuildRoutes,
  imageRoutes,
  registryRoutes,
  updateRoutes,
  overviewRoutes,
  agentRoutes,
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
