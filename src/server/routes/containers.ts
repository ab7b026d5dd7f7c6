import { createRoute, z } from "@hono/zod-openapi";
import type Dockerode from "dockerode";
import type { Capabilities } from "../../engine/capabilities.ts";
import { EngineError } from "../../engine/errors.ts";
import { readLogs } from "../../engine/logs.ts";
import type { Environment, Environments } from "../../envs/environments.ts";
import { fromInspect } from "../../state/container-view.ts";
import { wireView } from "../../stream/topics/containers.ts";
import { ApiError } from "../errors.ts";
import { newRouter } from "../router.ts";
import { commonErrors, EnvParam, jsonBody, jsonResponse, queryFlag } from "../schemas.ts";
import { environmentOf } from "./envs.ts";

const ContainerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    image: z.string(),
    image_id: z.string(),
    command: z.string(),
    state: z.string(),
    status: z.string(),
    health: z.string().nullable(),
    created: z.number(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    exit_code: z.number().nullable(),
    labels: z.record(z.string(), z.string()),
    ports: z.array(
      z.object({
        private: z.number(),
        public: z.number().optional(),
        type: z.string(),
        ip: z.string().optional(),
      }),
    ),
    networks: z.array(z.string()),
  })
  .openapi("Container");

const STATES = ["created", "running", "paused", "restarting", "removing", "exited", "dead"] as const;
const ContainerParams = EnvParam.extend({ id: z.string().min(1).max(256) });
const ACTIONS = ["start", "stop", "restart", "kill", "pause", "unpause"] as const;
type Action = (typeof ACTIONS)[number];

const SIGNALS = new Set(
  "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS".split(
    " ",
  ),
);
const Signal = z
  .string()
  .refine((s) => {
    if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
    const name = s.toUpperCase().replace(/^SIG/, "");
    return SIGNALS.has(name) || /^RTM(IN|AX)([+-]\d{1,2})?$/.test(name);
  }, "not a signal: use a name like SIGTERM or KILL, or a number 1-64")
  .transform((s) => (/^\d+$/.test(s) ? s : `SIG${s.toUpperCase().replace(/^SIG/, "")}`));

const Seconds = z.coerce.number().int().min(0).max(3600);

const LogLineSchema = z
  .object({ stream: z.enum(["stdout", "stderr"]), time: z.string().nullable(), text: z.string() })
  .openapi("LogLine");

// Docker's own rule for container names.
const ContainerName = z
  .string()
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "container names are [a-zA-Z0-9][a-zA-Z0-9_.-]+");

type Operation = Action | "rename" | "logs" | "inspect";
const CAPABILITY_OF: Partial<Record<Operation, keyof Capabilities>> = {
  inspect: "inspect",
  kill: "kill",
  pause: "pause",
  unpause: "pause",
  restart: "restart",
  rename: "rename",
  logs: "logs",
};

function requireCapability(env: Environment, what: Operation): void {
  const cap = CAPABILITY_OF[what];
  if (cap && env.engine.capabilities && !env.engine.capabilities[cap]) {
    throw new ApiError(
      400,
      "unsupported",
      `engine "${env.name}" (${env.engine.facts?.kind}) cannot ${what} containers`,
    );
  }
}

/** Engines answer 304 to starting a running container or stopping a stopped one: nothing to do is success. */
async function engineAction(
  env: Environment,
  ref: string,
  run: (c: Dockerode.Container) => Promise<unknown>,
) {
  try {
    await env.engine.call((d) => run(d.getContainer(ref)));
  } catch (err) {
    if (!(err instanceof EngineError && err.status === 304)) throw err;
  }
  const known = env.mirror.find(ref);
  if (known) await env.mirror.refresh(known.id);
}

function parseSince(since: string | undefined): number | undefined {
  if (since === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(since)) return Math.floor(Number(since));
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new ApiError(400, "invalid_request", "since: unix seconds or an RFC 3339 time");
  return Math.floor(t / 1000);
}

export function containerRoutes(envs: Environments) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/envs/{env}/containers",
      tags: ["containers"],
      summary: "All containers (answered from the panel's mirror of the engine)",
      request: {
        params: EnvParam,
        query: z.object({
          name: z.string().max(256).optional().openapi({ description: "substring of the name" }),
          state: z
            .string()
            .optional()
            .openapi({ description: `comma-separated: ${STATES.join(", ")}` }),
          label: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .openapi({ description: "`key` or `key=value`; repeat for all of them" }),
        }),
      },
      responses: { 200: jsonResponse(z.array(ContainerSchema), "Containers"), ...commonErrors },
    }),
    (c) => {
      const env = environmentOf(envs, c.req.valid("param").env);
      const q = c.req.valid("query");
      const states = q.state?.split(",").filter(Boolean);
      const bad = states?.find((s) => !(STATES as readonly string[]).includes(s));
      if (bad)
        throw new ApiError(400, "invalid_request", `state: "${bad}" is not one of ${STATES.join(", ")}`);
      const name = q.name?.toLowerCase();
      const labels = (typeof q.label === "string" ? [q.label] : (q.label ?? [])).map((l) => {
        const i = l.indexOf("=");
        return i < 0 ? { key: l, value: undefined } : { key: l.slice(0, i), value: l.slice(i + 1) };
      });
      const list = env.mirror
        .list()
        .filter(
          (ct) =>
            (!name || ct.name.toLowerCase().includes(name)) &&
            (!states?.length || states.includes(ct.state)) &&
            labels.every((l) => (l.value === undefined ? l.key in ct.labels : ct.labels[l.key] === l.value)),
        );
      return c.json(list.map(wireView), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/envs/{env}/containers",
      tags: ["containers"],
      summary: "Create a container: Docker's ContainerCreate body plus `name`",
      request: {
        params: EnvParam,
        ...jsonBody(z.looseObject({ name: ContainerName.optional(), Image: z.string().min(1) })),
      },
      responses: {
        201: jsonResponse(z.object({ id: z.string(), warnings: z.array(z.string()) }), "Created"),
        409: commonErrors[400],
        ...commonErrors,
      },
    }),
    async (c) => {
      const env = environmentOf(envs, c.req.valid("param").env);
      const { name, ...spec } = c.req.valid("json");
      const created = await env.engine.call((d) =>
        d.createContainer({ ...(spec as Dockerode.ContainerCreateOptions), ...(name ? { name } : {}) }),
      );
      await env.mirror.refresh(created.id);
      const warnings = ((created as unknown as { Warnings?: string[] }).Warnings ?? []).filter(Boolean);
      return c.json({ id: created.id, warnings }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/envs/{env}/containers/{id}",
      tags: ["containers"],
      summary: "Inspect a container (the engine's own answer)",
      request: { params: ContainerParams },
      responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), "Inspect"), ...commonErrors },
    }),
    async (c) => {
      const { env: envId, id } = c.req.valid("param");
      const env = environmentOf(envs, envId);
      requireCapability(env, "inspect");
      const info = await env.engine.call((d) => d.getContainer(id).inspect());
      return c.json(info as unknown as Record<string, unknown>, 200);
    },
  );

  // Before the {action} route, which would otherwise take "rename" for an unknown action.
  app.openapi(
    createRoute({
      method: "post",
      path: "/envs/{env}/containers/{id}/rename",
      tags: ["containers"],
      summary: "Rename a container",
      request: { params: ContainerParams, query: z.object({ name: ContainerName }) },
      responses: { 204: { description: "Renamed" }, 409: commonErrors[400], ...commonErrors },
    }),
    async (c) => {
      const { env: envId, id } = c.req.valid("param");
      const { name } = c.req.valid("query");
      const env = environmentOf(envs, envId);
      requireCapability(env, "rename");
      await engineAction(env, id, (ct) => ct.rename({ name }));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/envs/{env}/containers/{id}/{action}",
      tags: ["containers"],
      summary: "start, stop (?t=seconds), restart (?t=), kill (?signal=), pause, unpause",
      request: {
        params: ContainerParams.extend({ action: z.enum(ACTIONS) }),
        query: z.object({ t: Seconds.optional(), signal: Signal.optional() }),
      },
      responses: { 204: { description: "Done" }, 409: commonErrors[400], ...commonErrors },
    }),
    async (c) => {
      const { env: envId, id, action } = c.req.valid("param");
      const { t, signal } = c.req.valid("query");
      const env = environmentOf(envs, envId);
      requireCapability(env, action);
      if (signal && action !== "kill") throw new ApiError(400, "invalid_request", "signal: only for kill");
      if (t !== undefined && action !== "stop" && action !== "restart") {
        throw new ApiError(400, "invalid_request", "t: only for stop and restart");
      }
      const timeout = t !== undefined ? { t } : {};
      await engineAction(env, id, (ct) => {
        switch (action) {
          case "start":
            return ct.start();
          case "stop":
            return ct.stop(timeout);
          case "restart":
            return ct.restart(timeout);
          case "kill":
            return ct.kill(signal ? { signal } : {});
          case "pause":
            return ct.pause();
          case "unpause":
            return ct.unpause();
        }
      });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/envs/{env}/containers/{id}",
      tags: ["containers"],
      summary:
        "Remove a container (a running one only with ?force=true; ?volumes=true drops its anonymous volumes)",
      request: { params: ContainerParams, query: z.object({ force: queryFlag, volumes: queryFlag }) },
      responses: { 204: { description: "Removed" }, 409: commonErrors[400], ...commonErrors },
    }),
    async (c) => {
      const { env: envId, id } = c.req.valid("param");
      const { force, volumes } = c.req.valid("query");
      const env = environmentOf(envs, envId);
      await engineAction(env, id, (ct) => ct.remove({ force, v: volumes }));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/envs/{env}/containers/{id}/logs",
      tags: ["containers"],
      summary: "The log tail; each line says whether it came from stdout or stderr",
      request: {
        params: ContainerParams,
        query: z.object({
          tail: z
            .union([z.literal("all"), z.coerce.number().int().min(0).max(100_000)])
            .optional()
            .default(100),
          since: z.string().max(64).optional().openapi({ description: "unix seconds or RFC 3339" }),
          timestamps: queryFlag,
          stdout: z.enum(["1", "0", "true", "false"]).optional(),
          stderr: z.enum(["1", "0", "true", "false"]).optional(),
        }),
      },
      responses: { 200: jsonResponse(z.array(LogLineSchema), "Log lines"), ...commonErrors },
    }),
    async (c) => {
      const { env: envId, id } = c.req.valid("param");
      const q = c.req.valid("query");
      const env = environmentOf(envs, envId);
      requireCapability(env, "logs");
      const on = (v: string | undefined) => v === undefined || v === "1" || v === "true";
      const tty =
        env.mirror.find(id)?.tty ??
        fromInspect(await env.engine.call((d) => d.getContainer(id).inspect())).tty;
      const lines = await readLogs(env.engine, id, tty, {
        tail: q.tail,
        since: parseSince(q.since),
        timestamps: q.timestamps,
        stdout: on(q.stdout),
        stderr: on(q.stderr),
      });
      return c.json(lines, 200);
    },
  );

  return app;
}
