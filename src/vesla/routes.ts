import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import type { Action } from "../auth/actions.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environment, Environments } from "../envs/environments.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { json } from "../http/schemas.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import { classify, findApp, veslaApp } from "./apps.ts";
import { logText } from "./log-text.ts";

/** The engine the Vesla routes answer for: the one the panel was started with, as the seed had one. */
export const VESLA_ENV = "local";

const AppSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  image: z.string(),
  created: z.string(),
  started: z.string(),
  ports: z.record(z.string(), z.nullable(z.array(z.object({ HostIp: z.string(), HostPort: z.string() })))),
  labels: z.record(z.string(), z.string()),
  is_running: z.boolean(),
});
const VeslaError = z.object({ error: z.string() });
const veslaError = (description: string) => ({ description, schema: VeslaError });
const VESLA_ERRORS = {
  400: veslaError("Invalid input"),
  401: veslaError("Not logged in"),
  404: veslaError("No such app or container (or not yours)"),
  503: veslaError("Engine unreachable"),
} as const;
const NameParam = z.object({
  name: z
    .string()
    .check(
      z.maxLength(256),
      z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "not an app or container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"),
    ),
});
const VESLA_ACTIONS = ["start", "stop", "restart"] as const;
const PAST: Record<(typeof VESLA_ACTIONS)[number], string> = {
  start: "Started",
  stop: "Stopped",
  restart: "Restarted",
};
const FIRST_FIGURES_MS = 5_000;
const LINGER_MS = 30_000;

/**
 * The Vesla Console's API (docs/vesla.md), answered from the panel's mirror of the local engine,
 * with what the seed left to do: every route but /health needs a caller, and a caller who sees
 * only some containers (an app owner) gets only those — the rest do not exist for it.
 */
export function veslaRoutes(
  routes: RouteTable,
  { envs, policy, collectors }: { envs: Environments; policy: Policy; collectors: StatsCollectors },
): void {
  const env = () => {
    const local = envs.get(VESLA_ENV);
    if (!local) throw new ApiError(503, "engine_unreachable", "no local engine");
    return local;
  };
  /** The app or container `name` names, if this caller may `action` it; else a 404 in the seed's words. */
  const target = (
    c: AppContext,
    name: string,
    action: Action,
  ): { env: Environment; container: ContainerView } => {
    const e = env();
    const container = findApp(e, name);
    if (!container || !policy.can(callerOf(c), action, { env: e.id, container })) {
      throw new ApiError(404, "not_found", `Container '${name}' not found`);
    }
    return { env: e, container };
  };

  routes.add(
    {
      method: "get",
      path: "/health",
      tag: "vesla",
      policy: "public",
      summary:
        "Vesla Console health: whether the panel's own engine answers (no auth, as a probe needs; nothing more than /healthz tells)",
      responses: {
        200: json(z.object({ status: z.string(), service: z.string(), docker_connected: z.boolean() }), "Up"),
      },
    },
    (c) =>
      c.json({
        status: "healthy",
        service: "vesla-console",
        docker_connected: envs.get(VESLA_ENV)?.connection.status === "up",
      }),
  );

  routes.add(
    {
      method: "get",
      path: "/api/apps",
      tag: "vesla",
      policy: "containers:read",
      summary:
        "Vesla apps (containers labelled vesla.managed=true) and system containers (traefik, portainer, vesla-api, vesla-dashboard), each container in one list at most; total = both lists",
      responses: {
        200: json(
          z.object({ apps: z.array(AppSchema), system: z.array(AppSchema), total: z.number() }),
          "Apps",
        ),
        ...VESLA_ERRORS,
      },
    },
    (c) => {
      const e = env();
      const audience = policy.audience(callerOf(c), e.id);
      const apps = [];
      const system = [];
      for (const container of e.containers.list()) {
        if (!audience.sees(container)) continue;
        const kind = classify(container);
        if (kind === "app") apps.push(veslaApp(container));
        else if (kind === "system") system.push(veslaApp(container));
      }
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      return c.json({
        apps: apps.sort(byName),
        system: system.sort(byName),
        total: apps.length + system.length,
      });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/apps/{name}/logs",
      tag: "vesla",
      policy: "containers:read",
      summary:
        "The log tail as text, each line with its timestamp (stdout and stderr together, as the engine gives them)",
      params: NameParam,
      query: z.object({
        tail: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(10_000)), 100),
      }),
      responses: {
        200: json(z.object({ container: z.string(), logs: z.string(), lines: z.number() }), "Logs"),
        ...VESLA_ERRORS,
      },
    },
    async (c, { params, query }) => {
      const { env: e, container } = target(c, params.name, "containers:read");
      const { text, lines } = await logText(e.engine, container.id, container.tty, query.tail);
      return c.json({ container: params.name, logs: text, lines });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/apps/{name}/stats",
      tag: "vesla",
      policy: "containers:read",
      summary:
        "CPU % (as `docker stats`), memory in use and its limit (bytes), memory %, processes; for a container not running: its status and no figures",
      params: NameParam,
      responses: {
        200: json(
          z.union([
            z.object({
              container: z.string(),
              cpu_percent: z.number(),
              memory_usage: z.number(),
              memory_limit: z.number(),
              memory_percent: z.number(),
              pids: z.number(),
            }),
            z.object({ container: z.string(), status: z.string(), stats: z.null() }),
          ]),
          "Figures",
        ),
        ...VESLA_ERRORS,
      },
    },
    async (c, { params }) => {
      const { env: e, container } = target(c, params.name, "containers:read");
      const collector = collectors.get(e.id);
      if (container.state !== "running" || !collector) {
        return c.json({ container: params.name, status: container.state, stats: null });
      }
      const figures = (await collector.current(FIRST_FIGURES_MS, LINGER_MS)).find(
        (f) => f.id === container.id,
      );
      if (!figures) return c.json({ container: params.name, status: container.state, stats: null });
      return c.json({
        container: params.name,
        cpu_percent: figures.cpu_percent,
        memory_usage: figures.mem_usage,
        memory_limit: figures.mem_limit,
        memory_percent:
          figures.mem_limit > 0 ? Math.round((figures.mem_usage / figures.mem_limit) * 10_000) / 100 : 0,
        pids: figures.pids,
      });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/apps/{name}/action",
      tag: "vesla",
      policy: "containers:operate",
      summary: 'Start, stop or restart an app: `{"action": "start" | "stop" | "restart"}`',
      params: NameParam,
      body: z.object({ action: z.string().check(z.maxLength(64)) }),
      responses: {
        200: json(z.object({ status: z.literal("success"), message: z.string() }), "Done"),
        ...VESLA_ERRORS,
      },
    },
    async (c, { params, body }) => {
      noteAudit(c, { target: { action: body.action } });
      const action = VESLA_ACTIONS.find((a) => a === body.action);
      if (!action) {
        throw new ApiError(
          400,
          "invalid_request",
          `Unknown action: ${body.action} (one of ${VESLA_ACTIONS.join(", ")})`,
        );
      }
      const { env: e, container } = target(c, params.name, "containers:operate");
      try {
        // A stop waits for the container its 10 s grace, then some.
        await e.engine.send("POST", containerPath(container.id, `/${action}`), { timeoutMs: 40_000 });
      } catch (err) {
        // 304: started already, or stopped already — nothing to do is success.
        if (!(err instanceof EngineError && err.status === 304)) throw err;
      }
      await e.containers.refresh(container.id);
      return c.json({ status: "success", message: `${PAST[action]} ${params.name}` });
    },
  );
}
