import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { auditRequests } from "../audit/middleware.ts";
import { authorize, identifyCaller, UNAUTHORIZED_MESSAGE } from "../auth/middleware.ts";
import { AnonymousLimit, limitAnonymous } from "../http/anonymous-limit.ts";
import type { AppEnv } from "../http/context.ts";
import { errorBody, handleError } from "../http/errors.ts";
import { RouteTable } from "../http/route-table.ts";
import { VESLA_PATHS, veslaErrorShape } from "../vesla/errors.ts";
import type { PanelDeps } from "./deps.ts";
import { ROUTE_MODULES, type RouteModuleRef } from "./modules.ts";
import { ROUTE_MANIFEST } from "./routes.generated.ts";
import { serveUi, uiEmbedded } from "./ui.ts";

/** JSON bodies this API takes are small; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 1024 * 1024;

// No inline script or style anywhere in the UI, so the policy can be strict.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "no-referrer");
  // Keyed on this request's own transport: RFC 6797 has the header sent over HTTPS only.
  if (c.req.url.startsWith("https:")) c.header("Strict-Transport-Security", "max-age=31536000");
};

/**
 * The panel's HTTP app. `modules` and `ui` narrow it for a second listener that answers only some
 * routes (--vesla-listen: the Vesla Console's routes, no UI), behind the same middleware.
 */
export function createApp(deps: PanelDeps, modules: RouteModuleRef[] = ROUTE_MODULES, ui = true) {
  const app = new Hono<AppEnv>();
  const routes = new RouteTable(app, (c, action) => authorize(deps.policy, c, action));
  app.onError(handleError);
  app.notFound((c) =>
    // Unknown API paths tell a stranger nothing more than known ones do.
    c.req.path.startsWith("/api/v1/") && !c.get("caller")
      ? c.json(errorBody("unauthorized", UNAUTHORIZED_MESSAGE), 401)
      : c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  // Outside the audit middleware, which records the panel's own error shape.
  for (const path of VESLA_PATHS) app.use(path, veslaErrorShape);
  // First, so that it sees the answer of everything after it, refusals included.
  app.use("*", auditRequests(deps.audit, routes));
  app.use("*", securityHeaders);
  const smallBodies = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json(errorBody("body_too_large", `request body over ${MAX_BODY_BYTES} bytes`), 413),
  });
  // An upload route (an image tar, a build context) streams its body under a limit of its own.
  app.use("/api/*", (c, next) =>
    routes.uploadLimit(c.req.method, c.req.path) === undefined ? smallBodies(c, next) : next(),
  );
  app.use("/api/*", identifyCaller(deps));
  app.use("/metrics", identifyCaller(deps));
  if (deps.anonymousLimit > 0) app.use("*", limitAnonymous(new AnonymousLimit(deps.anonymousLimit)));
  app.use("/healthz", identifyCaller(deps));

  for (const module of modules) {
    routes.lazy(ROUTE_MANIFEST[module.name] ?? [], async (table) => (await module.load())(table, deps));
  }
  if (!ui) return { app, routes: routes.list() };

  // Made on first request: start-up does not pay for turning schemas into JSON Schema.
  let openapi: object | undefined;
  app.get("/api/openapi.json", async (c) => {
    await routes.loadAll();
    openapi ??= routes.openapi({
      title: "GhostPanel API",
      version: deps.version,
      description:
        'Errors are `{"error":{"code","message"}}`. A caller without valid credentials refused too often (60 a minute by default) gets 429 with Retry-After. Live data: WebSocket /api/v1/stream (docs/protocol.md).',
    });
    return c.json(openapi);
  });

  app.get("*", (c) => {
    const res = serveUi(c);
    if (res) return res;
    if (!uiEmbedded() && (c.req.path === "/" || c.req.path === "/index.html")) {
      return c.text(
        "This GhostPanel was run from source without a UI: `npm run build` embeds it in dist/ghostpanel.",
        503,
      );
    }
    return c.json(errorBody("not_found", `no route for GET ${c.req.path}`), 404);
  });
  return { app, routes: routes.list() };
}
