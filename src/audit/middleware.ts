import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { CHANGING_ACTIONS } from "../auth/actions.ts";
import { addressBlock, clientAddress } from "../http/client-address.ts";
import type { AppContext, AppEnv, AuditNote } from "../http/context.ts";
import { errorBody } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import type { AuditLog, AuditResult, NewAuditEntry } from "./audit-log.ts";

/** Adds to the entry this request will leave (later notes win field by field). */
export function noteAudit(c: AppContext, note: AuditNote): void {
  const before = c.get("audit");
  c.set("audit", { user: note.user ?? before?.user, target: { ...before?.target, ...note.target } });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const NO_ROUTE = "(no route)";
const MAX_FIELD = 1000;

/**
 * One audit entry per request that can change something, written after everything else has
 * answered — the handler, hono's onError (it turns a thrown ApiError into the answer before
 * `next()` returns here), the auth gate, the body limit, the not-found handler — and before the
 * answer leaves. Registered first on "*", so no route added later can escape it.
 *
 * "Can change something": every request whose method is not safe, and a safe-method route whose
 * action changes things all the same (CHANGING_ACTIONS: a WebSocket that runs commands is a GET).
 */
export function auditRequests(log: AuditLog, routes: RouteTable): MiddlewareHandler<AppEnv> {
  let unsafeReads: Set<string> | undefined;
  // Built on first use: the routes are all declared by then, not when this is registered.
  const unsafeReadsOf = () =>
    (unsafeReads ??= new Set(
      routes
        .list()
        .filter((r) => r.policy !== "public" && CHANGING_ACTIONS.has(r.policy))
        .map((r) => `${r.method.toUpperCase()} ${r.path}`),
    ));
  return async (c, next) => {
    const safe = SAFE_METHODS.has(c.req.method);
    // A change that could not be recorded is not made: while the database takes no writes (a full
    // disk), changes are refused before anything runs, and the panel keeps answering reads.
    const problem = safe ? undefined : log.unwritable();
    if (problem) {
      return c.json(
        errorBody(
          "storage_unavailable",
          `database writes failing: ${problem}; changes are refused until that is fixed`,
        ),
        problem === "disk full" ? 507 : 503,
      );
    }
    await next();
    // Today every safe-method route is a read: GETs, the hot path, stop here.
    if (safe && unsafeReadsOf().size === 0) return;
    const { pattern, params } = routeOf(c);
    const action = `${c.req.method} ${pattern}`;
    if (safe && !unsafeReadsOf().has(action)) return;
    const entry = await entryFor(c, action, params);
    // Synchronous: committed before the answer is sent, so an answered request is a recorded one
    // (a flood of refusals without credentials is counted instead: AuditLog.appendRefusal).
    if (!c.get("caller") && c.res.status >= 400 && c.res.status < 500)
      log.appendRefusal(addressBlock(entry.address), entry);
    else log.append(entry);
  };
}

async function entryFor(
  c: AppContext,
  action: string,
  { env, ...ids }: Record<string, string>,
): Promise<NewAuditEntry> {
  const status = c.res.status;
  const note = c.get("audit");
  const who = note?.user ?? c.get("caller")?.user;
  return {
    user_id: who?.id ?? null,
    username: who?.username ?? "",
    address: clientAddress(c),
    env: env ?? "",
    action,
    target: clip(describe({ ...ids, ...note?.target })),
    result: resultOf(status),
    status,
    detail: status >= 400 ? clip(await errorOf(c.res)) : "",
  };
}

/**
 * The route that answered (or, when a middleware refused first, would have): the first match that
 * is a route, not a middleware. Route handlers never call `next`, so no later route can have run.
 */
function routeOf(c: AppContext): { pattern: string; params: Record<string, string> } {
  const index = matchedRoutes(c).findIndex((r) => r.method !== "ALL");
  if (index < 0) return { pattern: NO_ROUTE, params: { path: c.req.path } };
  // param() reads the params of the route at routeIndex; after a refusal that is a middleware's.
  c.req.routeIndex = index;
  return { pattern: matchedRoutes(c)[index]!.path.replace(/:(\w+)/g, "{$1}"), params: c.req.param() };
}

function resultOf(status: number): AuditResult {
  if (status < 400) return "ok";
  return status === 401 || status === 403 ? "denied" : "error";
}

/** `key=value …`, a value quoted when it would be ambiguous bare. */
function describe(ids: Record<string, string | number>): string {
  return Object.entries(ids)
    .map(([k, v]) => `${k}=${/^[^\s"=]+$/.test(String(v)) ? v : JSON.stringify(String(v))}`)
    .join(" ");
}

/** Every error this API answers is `{"error":{"code","message"}}`, wherever it was made. */
async function errorOf(res: Response): Promise<string> {
  if (!res.headers.get("content-type")?.startsWith("application/json")) return "";
  try {
    const { error } = (await res.clone().json()) as { error?: { code?: string; message?: string } };
    return error ? `${error.code}: ${error.message}` : "";
  } catch {
    return "";
  }
}

function clip(text: string): string {
  return text.length > MAX_FIELD ? `${text.slice(0, MAX_FIELD - 1)}…` : text;
}
