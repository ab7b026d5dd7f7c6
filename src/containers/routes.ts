import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Capabilities } from "../engine/capabilities.ts";
import { REMOVAL_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { logsAs } from "../engine/logs.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environment, Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import { allowEngineWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json, queryFlag } from "../http/schemas.ts";
import type { Jobs } from "../jobs/jobs.ts";
import { rfc3339ToEngineTime } from "../protocol/log-batch.ts";
import type { RegistryCredentials } from "../registries/credentials.ts";
import { ContainerCreateSchema, ContainerName } from "../safety/create-schema.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { editRoutes } from "./edit-route.ts";
import { ContainerListCache } from "./list-cache.ts";
import { portConflicts } from "./port-conflicts.ts";
import { recreateRoutes } from "./recreate-route.ts";
import { stopTimeoutOf, stopWaitMs } from "./stop-wait.ts";
import { updateRoutes } from "./update-route.ts";
import { checkCreate, createVolumes, nameTaken } from "./vetted-create.ts";
import { fromInspect } from "./view.ts";

const ContainerSchema = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  image_id: z.string(),
  command: z.string(),
  state: z.string(),
  status: z.string(),
  health: z.nullable(z.string()),
  created: z.number(),
  started_at: z.nullable(z.string()),
  finished_at: z.nullable(z.string()),
  exit_code: z.nullable(z.number()),
  labels: z.record(z.string(), z.string()),
  ports: z.array(
    z.object({
      private: z.number(),
      public: z.optional(z.number()),
      type: z.string(),
      ip: z.optional(z.string()),
    }),
  ),
  networks: z.array(z.string()),
});

const STATES = ["created", "running", "paused", "restarting", "removing", "exited", "dead"] as const;
// Docker's rule for names and ids, a name's leading "/" allowed (the engine lists names with it):
// nothing else could name a container, and a "/", "?" or ".." would reach the engine's path.
const ContainerParams = z.extend(EnvParam, {
  id: z
    .string()
    .check(
      z.maxLength(257),
      z.regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "not a container name or id ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"),
    ),
});
const ACTIONS = ["start", "stop", "restart", "kill", "pause", "unpause"] as const;
type Action = (typeof ACTIONS)[number];

const SIGNALS = new Set(
  "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS".split(
    " ",
  ),
);
const Signal = z.pipe(
  z.string().check(
    z.refine((s) => {
      if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
      const name = s.toUpperCase().replace(/^SIG/, "");
      return SIGNALS.has(name) || /^RTM(IN|AX)([+-]\d{1,2})?$/.test(name);
    }, "not a signal: use a name like SIGTERM or KILL, or a number 1-64"),
  ),
  z.transform((s) => (/^\d+$/.test(s) ? s : `SIG${s.toUpperCase().replace(/^SIG/, "")}`)),
);

const Seconds = z.coerce.number().check(z.int(), z.minimum(0), z.maximum(3600));

const LogLineSchema = z.object({
  stream: z.enum(["stdout", "stderr"]),
  time: z.nullable(z.string()),
  text: z.string(),
});

const OnOff = z.optional(z.enum(["1", "0", "true", "false"]));

type Operation = Action | "rename" | "logs" | "inspect" | "create";
const CAPABILITY_OF: Partial<Record<Operation, keyof Capabilities>> = {
  create: "create",
  inspect: "inspect",
  kill: "kill",
  pause: "pause",
  unpause: "pause",
  restart: "restart",
  rename: "rename",
  logs: "logs",
};

function unsupported(env: Environment, what: string): ApiError {
  return new ApiError(400, "unsupported", `engine "${env.name}" (${env.engine.facts?.kind}) cannot ${what}`);
}

function requireCapability(env: Environment, what: Operation): void {
  const cap = CAPABILITY_OF[what];
  if (cap && env.engine.capabilities && !env.engine.capabilities[cap])
    throw unsupported(env, `${what} containers`);
}

const listCaches = new WeakMap<Environment, ContainerListCache>();
const listCache = (env: Environment): ContainerListCache => {
  const kept = listCaches.get(env);
  if (kept) return kept;
  const cache = new ContainerListCache(env.containers);
  listCaches.set(env, cache);
  return cache;
};

/**
 * Options travel in the query string, which Bolt's compat server cannot take: there an action runs
 * with the engine's defaults, and asking for anything else is refused rather than silently dropped.
 */
function engineOptions<T extends object>(
  env: Environment,
  what: string,
  options: T,
): T | Record<string, never> {
  if (env.engine.capabilities?.queryStrings !== false) return options;
  if (Object.values(options).some((v) => v !== undefined && v !== false)) {
    throw unsupported(env, `take options for ${what}`);
  }
  return {};
}

/**
 * One change to a container, `/containers/<ref><rest>?<query>`, given `timeoutMs` at the engine.
 * Engines answer 304 to starting a running container or stopping a stopped one: nothing to do is
 * success.
 */
async function engineAction(
  c: AppContext,
  env: Environment,
  ref: string,
  method: "POST" | "DELETE",
  rest: string,
  query: Record<string, string | number | boolean | undefined> = {},
  timeoutMs = REQUEST_TIMEOUT_MS,
) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  // A stop of a container deaf to SIGTERM, or a removal deleting a big layer, keeps the engine
  // busy past the server's 10 s idle time: the answer waits as long as the engine is given.
  allowEngineWait(c, timeoutMs);
  try {
    await env.engine.send(method, containerPath(ref, params.size ? `${rest}?${params}` : rest), {
      timeoutMs,
    });
  } catch (err) {
    if (!(err instanceof EngineError && err.status === 304)) throw err;
  }
  const known = env.containers.find(ref);
  if (known) await env.containers.refresh(known.id);
}

/** A log bound as the engine takes it: unix seconds (a fraction down to nanoseconds kept). */
function engineTime(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,12}(\.\d{1,9})?$/.test(value)) return value;
  const exact = rfc3339ToEngineTime(value);
  if (exact) return exact;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new ApiError(400, "invalid_request", `${name}: unix seconds or an RFC 3339 time`);
  return String(ms / 1000);
}

export function containerRoutes(
  routes: RouteTable,
  deps: {
    envs: Environments;
    policy: Policy;
    settings: SettingsStore;
    jobs: Jobs;
    registries: RegistryCredentials;
  },
): void {
  const { envs, policy, settings } = deps;
  const engineSafety = () => readEngineSafety(settings);
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/containers",
      tag: "containers",
      policy: "containers:read",
      summary: "All containers (answered from the panel's mirror of the engine)",
      params: EnvParam,
      query: z.object({
        name: z.optional(z.string().check(z.maxLength(256))),
        state: z.optional(z.string().check(z.maxLength(256))),
        label: z.optional(z.union([z.string(), z.array(z.string())])),
      }),
      responses: { 200: json(z.array(ContainerSchema), "Containers"), ...commonErrors },
    },
    (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const states = query.state?.split(",").filter(Boolean);
      const bad = states?.find((s) => !(STATES as readonly string[]).includes(s));
      if (bad)
        throw new ApiError(400, "invalid_request", `state: "${bad}" is not one of ${STATES.join(", ")}`);
      const name = query.name?.toLowerCase();
      const labels = (typeof query.label === "string" ? [query.label] : (query.label ?? [])).map((l) => {
        const i = l.indexOf("=");
        return i < 0 ? { key: l, value: undefined } : { key: l.slice(0, i), value: l.slice(i + 1) };
      });
      const body = listCache(env).body(policy.audience(callerOf(c), env.id), { name, states, labels });
      return c.body(body, 200, { "Content-Type": "application/json" });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers",
      tag: "containers",
      policy: "containers:operate",
      summary:
        "Create a container: Docker's ContainerCreate body plus `name`; every field is checked (docs/security.md)",
      params: EnvParam,
      body: ContainerCreateSchema,
      responses: {
        201: json(z.object({ id: z.string(), warnings: z.array(z.string()) }), "Created"),
        403: errorResponse("Refused by engine safety (the message names each field)"),
        409: errorResponse("Name taken, or a host port already published by a running container"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      requireCapability(env, "create");
      const { name } = body;
      noteAudit(c, { target: { name: name ?? "", image: body.Image } });
      const caller = callerOf(c);
      const checked = await checkCreate(env, policy, caller, engineSafety(), body);
      const clashes = portConflicts(
        checked.config.HostConfig?.PortBindings,
        env.containers.list(),
        policy.audience(caller, env.id),
      );
      if (clashes.length)
        throw new ApiError(409, "port_taken", `${clashes.join("; ")}: choose another host port`);
      await createVolumes(env, checked);
      const query = name ? `?name=${encodeURIComponent(name.replace(/^\//, ""))}` : "";
      const created = await env.engine
        .send<{ Id: string; Warnings?: string[] | null }>("POST", `/containers/create${query}`, {
          body: checked.config,
        })
        .catch((err) => {
          throw nameTaken(err, name);
        });
      if (!created?.Id)
        throw new ApiError(502, "engine_error", "the engine answered the create without an id");
      await env.containers.refresh(created.Id);
      return c.json({ id: created.Id, warnings: (created.Warnings ?? []).filter(Boolean) }, 201);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/containers/{id}",
      tag: "containers",
      policy: "containers:read",
      summary: "Inspect a container (the engine's own answer)",
      params: ContainerParams,
      responses: { 200: json(z.record(z.string(), z.unknown()), "Inspect"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      requireCapability(env, "inspect");
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:read");
      return c.json(await env.engine.get<object>(containerPath(ref, "/json")));
    },
  );

  // Before the {action} route, which would otherwise take "rename" for an unknown action.
  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers/{id}/rename",
      tag: "containers",
      policy: "containers:operate",
      summary: "Rename a container",
      params: ContainerParams,
      query: z.object({ name: ContainerName }),
      responses: { 204: "Renamed", 409: errorResponse("Name taken"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      requireCapability(env, "rename");
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:operate");
      await engineAction(c, env, ref, "POST", "/rename", { name: query.name }).catch((err) => {
        throw nameTaken(err, query.name);
      });
      return c.body(null, 204);
    },
  );

  // Before the {action} route too.
  recreateRoutes(routes, deps);
  editRoutes(routes, deps);
  updateRoutes(routes, deps);

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers/{id}/{action}",
      tag: "containers",
      policy: "containers:operate",
      summary: "start, stop (?t=seconds), restart (?t=), kill (?signal=), pause, unpause",
      params: z.extend(ContainerParams, { action: z.enum(ACTIONS) }),
      query: z.object({ t: z.optional(Seconds), signal: z.optional(Signal) }),
      responses: { 204: "Done", 409: errorResponse("Conflict with the container's state"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const { action } = params;
      const { t, signal } = query;
      const env = envFor(envs, params.env);
      requireCapability(env, action);
      if (signal && action !== "kill") throw new ApiError(400, "invalid_request", "signal: only for kill");
      if (t !== undefined && action !== "stop" && action !== "restart") {
        throw new ApiError(400, "invalid_request", "t: only for stop and restart");
      }
      const timeout = engineOptions(env, action, t !== undefined ? { t } : {});
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:operate");
      // A stop waits for the container as long as it was told to, or as its own stop timeout says.
      const stops = action === "stop" || action === "restart";
      const waits = stops ? stopWaitMs(t ?? (await stopTimeoutOf(env.engine, ref))) : undefined;
      await engineAction(c, env, ref, "POST", `/${action}`, { ...timeout, signal }, waits);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/envs/{env}/containers/{id}",
      tag: "containers",
      policy: "containers:operate",
      summary:
        "Remove a container (a running one only with ?force=true; ?volumes=true drops its anonymous volumes)",
      params: ContainerParams,
      query: z.object({ force: queryFlag, volumes: queryFlag }),
      responses: { 204: "Removed", 409: errorResponse("Running; use force"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const options = engineOptions(env, "remove", { force: query.force, v: query.volumes });
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:operate");
      // The engine deletes the container's files (with ?volumes, its anonymous volumes' too) first.
      await engineAction(c, env, ref, "DELETE", "", options, REMOVAL_TIMEOUT_MS);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/containers/{id}/logs",
      tag: "containers",
      policy: "containers:read",
      summary:
        "The log tail (tail=all: the whole log), streamed as the engine reads it; each line says whether it came from stdout or stderr. since/until bound it (inclusive; with until, tail is the last lines before it); format=text gives it as `docker logs` prints it, download=1 as a file",
      params: ContainerParams,
      query: z.object({
        tail: z._default(
          z.union([z.literal("all"), z.coerce.number().check(z.int(), z.minimum(0), z.maximum(100_000))]),
          100,
        ),
        since: z.optional(z.string().check(z.maxLength(64))),
        until: z.optional(z.string().check(z.maxLength(64))),
        timestamps: queryFlag,
        stdout: OnOff,
        stderr: OnOff,
        format: z.optional(z.enum(["json", "text"])),
        download: queryFlag,
      }),
      responses: { 200: json(z.array(LogLineSchema), "Log lines"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      requireCapability(env, "logs");
      const on = (v: string | undefined) => v === undefined || v === "1" || v === "true";
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:read");
      const tty =
        env.containers.find(ref)?.tty ?? fromInspect(await env.engine.get(containerPath(ref, "/json"))).tty;
      const format = query.format ?? "json";
      const body = await logsAs(format, env.engine, ref, tty, {
        tail: query.tail,
        since: engineTime("since", query.since),
        until: engineTime("until", query.until),
        timestamps: query.timestamps,
        stdout: on(query.stdout),
        stderr: on(query.stderr),
      });
      const headers: Record<string, string> = {
        "content-type": format === "json" ? "application/json" : "text/plain; charset=utf-8",
      };
      if (query.download) {
        const name = env.containers.find(ref)?.name ?? ref.slice(0, 12);
        headers["content-disposition"] = `attachment; filename="${name.replace(/[^\w.-]/g, "_")}.log"`;
      }
      return c.body(body, 200, headers);
    },
  );
}
