/** Alerts as the API and the `alerts` topic carry them (src/alerts/). Plain types only: part of every client bundle. */

/**
 * What an alert rule watches. `cpu` and `memory`: a container above `threshold` % (of a CPU, as
 * `docker stats` counts; of its memory limit) for `for_seconds`. `restart_loop`: `threshold` starts
 * within `for_seconds`. `died`: stopped with a non-zero exit code (a crash, a kill; not a clean
 * stop). The others fire on the event itself.
 */
export const RULE_KINDS = [
  "cpu",
  "memory",
  "died",
  "oom",
  "unhealthy",
  "restart_loop",
  "engine_down",
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface AlertRule {
  id: number;
  name: string;
  kind: RuleKind;
  env: string;
  /** a container name or a Vesla app name; "" for every container of the engine */
  target: string;
  threshold: number;
  for_seconds: number;
  /** webhook ids */
  webhooks: number[];
  enabled: boolean;
  /** ms since 1970; until then its alerts are recorded and shown but sent nowhere */
  silenced_until: number;
  created_at: number;
}

export interface Alert {
  id: number;
  rule_id: number;
  rule: string;
  env: string;
  /** the container's name; "" for an engine's alert */
  container: string;
  labels: Record<string, string>;
  kind: RuleKind;
  message: string;
  state: "firing" | "resolved";
  started_at: number;
  resolved_at: number | null;
  /** fired while its rule was silenced: sent nowhere */
  silenced: boolean;
  acked_by: string | null;
  acked_at: number | null;
}

export interface Webhook {
  id: number;
  name: string;
  /** the URL's origin only (`https://hooks.example.com/…`): the whole URL is sealed in the vault */
  url: string;
  created_at: number;
}

export interface Delivery {
  id: number;
  alert_id: number;
  webhook_id: number;
  event: string;
  attempt: number;
  at: number;
  /** the receiver's HTTP status; null when none came (refused, timed out) */
  status: number | null;
  ok: boolean;
  error: string;
}
