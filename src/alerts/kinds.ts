export type { Alert, AlertRule, Delivery, RuleKind, Webhook } from "../protocol/alerts.ts";
export { RULE_KINDS } from "../protocol/alerts.ts";
