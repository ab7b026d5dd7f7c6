import type { Action } from "../auth/actions.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import type { Alert } from "../protocol/alerts.ts";

/**
 * Whether a caller may `action` an alert: a container's alert as that container (its name and
 * labels when it fired), an engine's alert as the whole engine. REST and the topic both ask here.
 */
export function alertAllowed(policy: Policy, caller: Caller, action: Action, alert: Alert): boolean {
  if (alert.container === "")
    return policy.can(caller, action, { env: alert.env }) && policy.ownsEnv(caller, alert.env);
  return policy.can(caller, action, {
    env: alert.env,
    container: { name: alert.container, labels: alert.labels },
  });
}
