import type { AgentHub } from "../agent/hub.ts";
import type { Alerts } from "../alerts/alerts.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { LoginThrottle } from "../auth/login-throttle.ts";
import type { Policy } from "../auth/policy.ts";
import type { SessionStore } from "../auth/sessions.ts";
import type { TeamStore } from "../auth/teams.ts";
import type { TokenStore } from "../auth/tokens.ts";
import type { UserStore } from "../auth/users.ts";
import type { Environments } from "../envs/environments.ts";
import type { DeployHistory } from "../history/deploy-history.ts";
import type { Jobs } from "../jobs/jobs.ts";
import type { RegistryStore } from "../registries/store.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import type { WriteHealth } from "../store/write-health.ts";
import type { TopicBus } from "../stream/bus.ts";
import type { UpdateChecker } from "../updates/checker.ts";

/** Everything the panel is made of, as the route and topic modules are given it (src/server/modules.ts). */
export interface PanelDeps {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  teams: TeamStore;
  policy: Policy;
  throttle: LoginThrottle;
  settings: SettingsStore;
  envs: Environments;
  bus: TopicBus;
  collectors: StatsCollectors;
  /** pulls, pushes, builds…: long work kept live on `jobs:<env>` */
  jobs: Jobs;
  /** registries and their sealed logins: the RegistryCredentials of pulls, pushes and update checks */
  registries: RegistryStore;
  /** image update detection: results per container, checked on a schedule and on demand */
  updates: UpdateChecker;
  audit: AuditLog;
  /** whether the database takes writes (a full disk does not end the panel; /healthz says so) */
  writeHealth: WriteHealth;
  version: string;
  secureCookies: boolean;
  /** refusals without credentials an address may have per minute (src/server/anonymous-limit.ts); 0: none */
  anonymousLimit: number;
  /** SHA-256 of the certificate served now (SIGHUP can change it); null without TLS. */
  tlsFingerprint: () => string | null;
  /** deployment history, from the container mirrors (src/history/) */
  deployments: DeployHistory;
  /** alert rules, their evaluation and webhooks (src/alerts/) */
  alerts: Alerts;
  /** edge agents' links and join tokens (src/agent/) */
  agents: AgentHub;
}
