import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AuditLog } from "../audit/audit-log.ts";
import { auditRequests } from "../audit/middleware.ts";
import type { LoginThrottle } from "../auth/login-throttle.ts";
import { authorize, identifyCaller, UNAUTHORIZED_MESSAGE } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { SessionStore } from "../auth/sessions.ts";
import type { TeamStore } from "../auth/teams.ts";
import type { TokenStore } from "../auth/tokens.ts";
import type { UserStore } from "../auth/users.ts";
import type { Environments } from "../envs/environments.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import type { WriteHealth } from "../store/write-health.ts";
import type { TopicBus } from "../stream/bus.ts";
import { AnonymousLimit, limitAnonymous } from "./anonymous-limit.ts";
import { errorBody, handleError } from "./errors.ts";
import { type AppEnv, RouteTable } from "./route-table.ts";
import { auditRoutes } from "./routes/audit.ts";
import { authRoutes } from "./routes/auth.ts";
import { containerRoutes } from "./routes/containers.ts";
import { envRoutes } from "./routes/envs.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { settingsRoutes } from "./routes/settings.ts";
import { statsRoutes } from "./routes/stats.ts";
import { streamRoutes } from "./routes/stream.ts";
import { teamRoutes } from "./routes/teams.ts";
import { userRoutes } from "./routes/users.ts";
import { serveUi, uiEmbedded } from "./ui.ts";

export interface AppDeps {
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
  audit: AuditLog;
  /** whether the database takes writes (a full disk does not end the panel; /healthz says so) */
  writeHealth: WriteHealth;
  version: string;
  secureCookies: boolean;
  /** refusals without credentials an address may have per minute (src/server/anonymous-limit.ts); 0: none */
  anonymousLimit: number;
  /** SHA-256 of the certificate served now (SIGHUP can change it); null without TLS. */
  tlsFingerprint: () => string | null;
}

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

export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const routes = new RouteTable(app, (c, action) => authorize(deps.policy, c, action));
  app.onError(handleError);
  app.notFound((c) =>
    // Unknown API paths tell a stranger nothing more than known ones do.
    c.req.path.startsWith("/api/v1/") && !c.get("caller")
      ? c.json(errorBody("unauthorized", UNAUTHORIZED_MESSAGE), 401)
      : c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  // First, so that it sees the answer of everything after it, refusals included.
  app.use("*", auditRequests(deps.audit, routes));
  app.use("*", securityHeaders);
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody("body_too_large", `request body over ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );
  app.use("/api/*", identifyCaller(deps));
  app.use("/metrics", identifyCaller(deps));
  if (deps.anonymousLimit > 0) app.use("*", limitAnonymous(new AnonymousLimit(deps.anonymousLimit)));
  app.use("/healthz", identifyCaller(deps));

  healthRoutes(routes, deps.envs, deps.policy, deps.version, deps.tlsFingerprint, () =>
    deps.writeHealth.warnings(),
  );
  authRoutes(routes, deps);
  userRoutes(routes, deps);
  teamRoutes(routes, deps.teams, deps.users, deps.envs);
  envRoutes(routes, deps.envs, deps.policy);
  containerRoutes(routes, deps.envs, deps.policy, () => readEngineSafety(deps.settings));
  settingsRoutes(routes, deps.settings);
  streamRoutes(routes, deps.bus, deps);
  statsRoutes(routes, deps.envs, deps.collectors, deps.policy);
  metricsRoutes(routes, deps.policy, deps.envs, deps.collectors, deps.version);
  auditRoutes(routes, deps.audit);

  // Made on first request: start-up does not pay for turning schemas into JSON Schema.
  let openapi: object | undefined;
  app.get("/api/openapi.json", (c) => {
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
