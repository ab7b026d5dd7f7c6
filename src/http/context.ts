import type { Context } from "hono";
import type { Caller } from "../auth/policy.ts";

/**
 * What every request carries through the middleware: who is calling and what its audit entry will
 * say. Types only, imported by the route table, the middleware and the handlers alike.
 */
/** What a handler knows that the request line does not; see `noteAudit`. */
export interface AuditNote {
  /** who, when that is not the caller: the name a login tried, the admin that setup made */
  user?: { id?: number; username: string };
  /** ids beyond the path's, e.g. the name of the token made */
  target?: Record<string, string | number>;
}

export interface AppVariables {
  /** set when the request carries valid credentials (src/auth/middleware.ts) */
  caller: Caller | undefined;
  /** what a handler adds to the request's audit entry (src/audit/middleware.ts) */
  audit: AuditNote | undefined;
}
export type AppEnv = { Variables: AppVariables };
export type AppContext = Context<AppEnv>;
