import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import { RULE_KINDS } from "../protocol/alerts.ts";
import type { Alerts } from "./alerts.ts";
import type { NewRule } from "./store.ts";
import { alertAllowed } from "./visible.ts";

const IdParam = z.object({ id: z.coerce.number().check(z.int(), z.positive()) });
const Limit = z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100);
const Name = z.string().check(z.minLength(1), z.maxLength(100));

const RuleInput = z.object({
  name: Name,
  kind: z.enum(RULE_KINDS),
  env: z._default(z.string().check(z.minLength(1), z.maxLength(64)), "local"),
  target: z._default(z.string().check(z.maxLength(256)), ""),
  threshold: z._default(z.number().check(z.minimum(0), z.maximum(100_000)), 0),
  for_seconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(86_400)), 0),
  webhooks: z._default(z.array(z.number().check(z.int(), z.positive())).check(z.maxLength(20)), []),
  enabled: z._default(z.boolean(), true),
});
const RuleSchema = z.object({
  id: z.number(),
  name: z.string(),
  kind: z.enum(RULE_KINDS),
  env: z.string(),
  target: z.string(),
  threshold: z.number(),
  for_seconds: z.number(),
  webhooks: z.array(z.number()),
  enabled: z.boolean(),
  silenced_until: z.number(),
  created_at: z.number(),
});
const AlertSchema = z.object({
  id: z.number(),
  rule_id: z.number(),
  rule: z.string(),
  env: z.string(),
  container: z.string(),
  labels: z.record(z.string(), z.string()),
  kind: z.enum(RULE_KINDS),
  message: z.string(),
  state: z.enum(["firing", "resolved"]),
  started_at: z.number(),
  resolved_at: z.nullable(z.number()),
  silenced: z.boolean(),
  acked_by: z.nullable(z.string()),
  acked_at: z.nullable(z.number()),
});
const WebhookSchema = z.object({ id: z.number(), name: z.string(), url: z.string(), created_at: z.number() });
const DeliverySchema = z.object({
  id: z.number(),
  alert_id: z.number(),
  webhook_id: z.number(),
  event: z.string(),
  attempt: z.number(),
  at: z.number(),
  status: z.nullable(z.number()),
  ok: z.boolean(),
  error: z.string(),
});
const WebhookUrl = z.string().check(
  z.maxLength(2000),
  z.refine((u) => {
    try {
      const url = new URL(u);
      return (
        (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === ""
      );
    } catch {
      return false;
    }
  }, "an http:// or https:// URL, without user:password@ (put a credential in the path or query)"),
);

export function alertRoutes(
  routes: RouteTable,
  { alerts, envs, policy }: { alerts: Alerts; envs: Environments; policy: Policy },
): void {
  const { store, evaluator } = alerts;

  /** What a rule must make sense as, beyond its fields' types. */
  const checkRule = (r: NewRule) => {
    if (!envs.get(r.env)) throw new ApiError(400, "invalid_request", `env: no environment "${r.env}"`);
    const missing = r.webhooks.find((id) => !store.webhook(id));
    if (missing !== undefined) throw new ApiError(400, "invalid_request", `webhooks: no webhook ${missing}`);
    if ((r.kind === "cpu" || r.kind === "memory") && r.threshold <= 0)
      throw new ApiError(400, "invalid_request", "threshold: a percentage above 0");
    if (r.kind === "memory" && r.threshold > 100)
      throw new ApiError(
        400,
        "invalid_request",
        "threshold: memory is a percentage of the limit, 100 at most",
      );
    if (r.kind === "restart_loop" && (r.threshold < 2 || !Number.isInteger(r.threshold) || r.for_seconds < 1))
      throw new ApiError(
        400,
        "invalid_request",
        "restart_loop: threshold is a number of starts (2 or more) within for_seconds (1 or more)",
      );
    return r;
  };
  const ruleOf = (id: number) => {
    const rule = store.rule(id);
    if (!rule) throw new ApiError(404, "not_found", `no alert rule ${id}`);
    return rule;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/alerts",
      tag: "alerts",
      policy: "alerts:read",
      summary:
        "Alerts, firing ones first, then the newest: those of the containers and engines the caller may see",
      query: z.object({ limit: Limit }),
      responses: { 200: json(z.array(AlertSchema), "Alerts"), ...commonErrors },
    },
    (c, { query }) => {
      const caller = callerOf(c);
      // Filtered after the read: a page may hold fewer than `limit` for a caller who sees little.
      return c.json(store.alerts(query.limit).filter((a) => alertAllowed(policy, caller, "alerts:read", a)));
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/alerts/{id}/ack",
      tag: "alerts",
      policy: "containers:operate",
      summary: "Acknowledge an alert (someone is on it); by whoever may operate what it is about",
      params: IdParam,
      responses: { 200: json(AlertSchema, "Acknowledged"), ...commonErrors },
    },
    (c, { params }) => {
      const caller = callerOf(c);
      const alert = store.alert(params.id);
      if (!alert || !alertAllowed(policy, caller, "containers:operate", alert))
        throw new ApiError(404, "not_found", `no alert ${params.id}`);
      noteAudit(c, { target: { alert: alert.id, rule: alert.rule } });
      const acked = store.ack(alert.id, caller.user.username)!;
      alerts.evaluator.announceChange(acked);
      return c.json(acked);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/alerts/rules",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Every alert rule",
      responses: { 200: json(z.array(RuleSchema), "Rules"), ...commonErrors },
    },
    (c) => c.json(store.rules()),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/alerts/rules",
      tag: "alerts",
      policy: "alerts:manage",
      summary:
        "Make a rule: cpu or memory over `threshold` % for `for_seconds`; died; oom; unhealthy; restart_loop (`threshold` starts within `for_seconds`); engine_down. `target`: a container or Vesla app name, or empty for all",
      body: RuleInput,
      responses: { 201: json(RuleSchema, "Made"), ...commonErrors },
    },
    (c, { body }) => {
      noteAudit(c, { target: { rule: body.name, kind: body.kind } });
      const rule = store.addRule(checkRule(body));
      evaluator.reload();
      return c.json(rule, 201);
    },
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/alerts/rules/{id}",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Change a rule (the whole of it)",
      params: IdParam,
      body: RuleInput,
      responses: { 200: json(RuleSchema, "Changed"), ...commonErrors },
    },
    (c, { params, body }) => {
      noteAudit(c, { target: { rule: ruleOf(params.id).name } });
      store.updateRule(params.id, checkRule(body));
      evaluator.reload();
      return c.json(ruleOf(params.id));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/alerts/rules/{id}",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Remove a rule and its alerts",
      params: IdParam,
      responses: { 204: "Removed", ...commonErrors },
    },
    (c, { params }) => {
      noteAudit(c, { target: { rule: ruleOf(params.id).name } });
      // Resolved first (its receivers hear the end of what they were told began), then gone.
      store.updateRule(params.id, { ...ruleOf(params.id), enabled: false });
      evaluator.reload();
      store.removeRule(params.id);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/alerts/rules/{id}/silence",
      tag: "alerts",
      policy: "alerts:manage",
      summary:
        "Silence a rule for `minutes` (0: no longer): its alerts are still recorded and shown, but sent to no webhook",
      params: IdParam,
      body: z.object({ minutes: z.number().check(z.int(), z.minimum(0), z.maximum(43_200)) }),
      responses: { 200: json(RuleSchema, "Silenced"), ...commonErrors },
    },
    (c, { params, body }) => {
      noteAudit(c, { target: { rule: ruleOf(params.id).name, minutes: body.minutes } });
      store.silence(params.id, body.minutes === 0 ? 0 : Date.now() + body.minutes * 60_000);
      evaluator.reload();
      return c.json(ruleOf(params.id));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/alerts/webhooks",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Every webhook (its URL's origin only: the whole URL is kept sealed)",
      responses: { 200: json(z.array(WebhookSchema), "Webhooks"), ...commonErrors },
    },
    (c) => c.json(store.webhooks()),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/alerts/webhooks",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Add a webhook: alert events are POSTed there as JSON, retried with a doubling backoff",
      body: z.object({ name: Name, url: WebhookUrl }),
      responses: { 201: json(WebhookSchema, "Added"), 409: errorResponse("Name taken"), ...commonErrors },
    },
    (c, { body }) => {
      // The URL stays out of the audit log: it is often the credential.
      noteAudit(c, { target: { webhook: body.name } });
      const hook = store.addWebhook(body.name, body.url);
      if (!hook) throw new ApiError(409, "conflict", `a webhook named "${body.name}" exists`);
      return c.json(hook, 201);
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/alerts/webhooks/{id}",
      tag: "alerts",
      policy: "alerts:manage",
      summary: "Remove a webhook (rules that named it send elsewhere or nowhere)",
      params: IdParam,
      responses: { 204: "Removed", ...commonErrors },
    },
    (c, { params }) => {
      const hook = store.webhook(params.id);
      if (!hook) throw new ApiError(404, "not_found", `no webhook ${params.id}`);
      noteAudit(c, { target: { webhook: hook.name } });
      store.removeWebhook(params.id);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/alerts/deliveries",
      tag: "alerts",
      policy: "alerts:manage",
      summary:
        "The delivery log, newest first: every attempt to send an alert event to a webhook, and how it ended",
      query: z.object({
        alert: z.optional(z.coerce.number().check(z.int(), z.positive())),
        webhook: z.optional(z.coerce.number().check(z.int(), z.positive())),
        limit: Limit,
      }),
      responses: { 200: json(z.array(DeliverySchema), "Deliveries"), ...commonErrors },
    },
    (c, { query }) => c.json(store.deliveries({ alert: query.alert, webhook: query.webhook }, query.limit)),
  );
}
