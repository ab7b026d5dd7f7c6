import * as z from "zod/mini";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import { AUDIT_RESULTS, type AuditLog, MAX_RETENTION_DAYS } from "./audit-log.ts";
import { EXPORT_TYPES, exportAudit } from "./export.ts";

const Entry = z.object({
  id: z.number(),
  at: z.number(),
  user_id: z.nullable(z.number()),
  username: z.string(),
  address: z.string(),
  env: z.string(),
  action: z.string(),
  target: z.string(),
  result: z.enum(AUDIT_RESULTS),
  status: z.number(),
  detail: z.string(),
});

/** Milliseconds since 1970, or anything Date.parse reads (ISO 8601). */
const Instant = z.pipe(
  z
    .string()
    .check(
      z.refine(
        (s) => !Number.isNaN(toMs(s)),
        "a time: milliseconds since 1970 or an ISO 8601 date such as 2026-11-22T08:00:00Z",
      ),
    ),
  z.transform(toMs),
);

function toMs(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : Date.parse(s);
}

const text = (max: number) => z.optional(z.string().check(z.maxLength(max)));

const Filters = z.object({
  user: text(64),
  action: text(200),
  env: text(64),
  result: z.optional(z.enum(AUDIT_RESULTS)),
  since: z.optional(Instant),
  until: z.optional(Instant),
  q: text(200),
  before: z.optional(z.coerce.number().check(z.int(), z.positive())),
});

const Retention = z.object({
  retention_days: z.number().check(z.int(), z.minimum(1), z.maximum(MAX_RETENTION_DAYS)),
});

export function auditRoutes(routes: RouteTable, { audit: log }: { audit: AuditLog }): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/audit",
      tag: "audit",
      policy: "audit:read",
      summary:
        "Audit entries, newest first: every change and login attempt. Filters combine; `before` is the last id of the previous page",
      query: z.extend(Filters, {
        limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000))),
      }),
      responses: { 200: json(z.array(Entry), "Entries"), 400: commonErrors[400], 401: commonErrors[401] },
    },
    (c, { query: { limit, ...filter } }) => c.json(log.query(filter, limit ?? 100)),
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/audit/export",
      tag: "audit",
      policy: "audit:read",
      summary:
        "Every matching entry, newest first, streamed as JSON lines or CSV (RFC 4180, header row; cells a spreadsheet would run as formulas start with ')",
      query: z.extend(Filters, { format: z.enum(["jsonl", "csv"]) }),
      responses: { 200: "The entries", 400: commonErrors[400], 401: commonErrors[401] },
    },
    (c, { query: { format, ...filter } }) => {
      const day = new Date().toISOString().slice(0, 10);
      return c.body(exportAudit(log, filter, format), 200, {
        "Content-Type": EXPORT_TYPES[format],
        "Content-Disposition": `attachment; filename="ghostpanel-audit-${day}.${format}"`,
      });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/settings/audit",
      tag: "audit",
      policy: "audit:read",
      summary: "How many days audit entries are kept",
      responses: { 200: json(Retention, "The setting"), 401: commonErrors[401] },
    },
    (c) => c.json({ retention_days: log.retentionDays() }),
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/settings/audit",
      tag: "audit",
      policy: "settings:manage",
      summary: "Set how many days audit entries are kept (1–3650); older ones are deleted at once",
      body: Retention,
      responses: {
        200: json(Retention, "The setting"),
        400: commonErrors[400],
        401: commonErrors[401],
        403: errorResponse("Not allowed"),
      },
    },
    (c, { body }) => {
      log.setRetentionDays(body.retention_days);
      return c.json({ retention_days: log.retentionDays() });
    },
  );
}
