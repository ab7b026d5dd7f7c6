import type { Duplex } from "node:stream";
import * as z from "zod/mini";
import type { AuditLog, NewAuditEntry } from "../audit/audit-log.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import type { Engine, ExecSession } from "../engine/engine.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environment, Environments } from "../envs/environments.ts";
import { containerIn, envFor } from "../envs/resolve.ts";
import { safetyContext } from "../safety/context.ts";
import type { SafetyContext } from "../safety/rules.ts";
import { type InspectAnswer, vetRunning } from "../safety/running.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { type TopicBus, TopicError } from "../stream/bus.ts";

const SESSION_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Marks every process of one session (children inherit it), so the session can be ended whole. */
const SESSION_ENV = "GHOSTPANEL_EXEC";
const MAX_TERMINAL_SIZE = 1000;
/**
 * What a subscriber may ask to run. The command is an argv handed to the engine as is: no shell
 * reads it, so nothing in it is interpreted. The user is what Docker's `--user` takes.
 */
const Options = z.strictObject({
  mode: z.optional(z.enum(["exec", "attach"])),
  cmd: z.optional(
    z
      .array(z.string().check(z.minLength(1), z.maxLength(4096), z.regex(/^[^\0]*$/)))
      .check(z.minLength(1), z.maxLength(64)),
  ),
  user: z.optional(
    z.string().check(z.regex(/^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$/)),
  ),
});
type Options = z.infer<typeof Options>;
/** Audit entries carry the command, cut short: an argv can be long. */
const AUDIT_CMD_CHARS = 300;
/** The HTTP status an audit entry gives each refusal, as if a route had answered it. */
const STATUS_OF: Record<string, number> = {
  forbidden: 403,
  engine_safety: 403,
  not_found: 404,
  not_running: 409,
};

interface Session {
  exec: ExecSession;
  stream: Duplex;
  engine: Engine;
  container: string;
  marker: string;
  /** who the session runs as: its processes' environ is readable by that user only (no CAP_SYS_PTRACE) */
  user: string | undefined;
}

export interface ExecTopicDeps {
  envs: Environments;
  policy: Policy;
  settings: SettingsStore;
  audit: AuditLog;
}

/**
 * `exec:<env>:<container>:<session>`: one interactive process (with a TTY) per topic, for its one
 * subscriber: `sh` unless the subscriber names a command and user, or the container's main process
 * when it asks to attach. It starts when the subscriber is let in and ends (or detaches) when it leaves.
 */
export function registerExecTopic(
  bus: TopicBus,
  { envs, policy, settings, audit: log }: ExecTopicDeps,
): void {
  const engineSafety = () => readEngineSafety(settings);
  const audit = (entry: NewAuditEntry) => log.append(entry);
  // Reserved as soon as a subscriber is being let in: a second one for the same topic is refused
  // even while the first's shell is still starting.
  const sessions = new Map<string, Session | "starting">();
  const resolve = (args: string[]) => {
    const [envId = "", ref = "", session = ""] = args;
    if (args.length !== 3 || !SESSION_ID.test(session)) {
      throw new TopicError(
        "bad_topic",
        "exec topics are exec:<env>:<container>:<session id of 8-64 [A-Za-z0-9_-]>",
      );
    }
    const env = envFor(envs, envId);
    const container = containerIn(env, ref);
    return { env, container, key: args.join(":") };
  };

  /** Who started which shell where, as the audit log has it (its result still to add). */
  const entryOf = (args: string[], caller: Caller, address = "", options: Options = {}) => {
    const { env, container } = resolve(args);
    const attach = options.mode === "attach";
    const cmd = JSON.stringify(options.cmd ?? ["sh"]).slice(0, AUDIT_CMD_CHARS);
    return {
      user_id: caller.user.id,
      username: caller.user.username,
      address,
      env: env.id,
      action: `${attach ? "ATTACH" : "EXEC"} exec:${env.id}:${container.name}`,
      target: attach
        ? `id=${container.id} attach`
        : `id=${container.id} cmd=${cmd} user=${options.user ?? ""}`,
    };
  };

  bus.register("exec", {
    action: "containers:exec",
    resource: (args) => {
      const { env, container } = resolve(args);
      return { env: env.id, container };
    },
    open: async (args, { caller, address, options: given }) => {
      const { env, container, key } = resolve(args);
      const options = parseOptions(given);
      if (sessions.has(key)) throw new TopicError("busy", "this terminal session already has its subscriber");
      sessions.set(key, "starting");
      const entry = entryOf(args, caller, address, options);
      try {
        if (container.state !== "running")
          throw new TopicError("not_running", "the container is not running");
        if (caller.user.role !== "admin")
          await refuseUnsafe(env, container.id, safetyContext(env, policy, caller, engineSafety()));
        const attach = options.mode === "attach";
        if (attach && !env.engine.attach)
          throw new TopicError("unsupported", "this engine cannot attach to a container");
        // Detaching hangs up on nothing: the main process is the container's, not this session's.
        const marker = attach ? "" : `${SESSION_ENV}=${crypto.randomUUID()}`;
        // No Privileged: exec gets no more rights than the container has (a user it names is one
        // the container could have been made to run as: engine safety leaves User free).
        const exec = attach
          ? await env.engine.attach!(container.id)
          : await env.engine.exec(container.id, {
              Cmd: options.cmd ?? ["sh"],
              Env: [marker],
              User: options.user || undefined,
              interactive: true,
            });
        if (!exec.stream) throw new TopicError("engine_error", "the engine gave the session no terminal");
        sessions.set(key, {
          exec,
          stream: exec.stream,
          engine: env.engine,
          container: container.id,
          marker,
          user: options.user || undefined,
        });
        audit({ ...entry, result: "ok", status: 101, detail: "" });
        return [{ k: "started" }];
      } catch (err) {
        sessions.delete(key);
        const refusal =
          err instanceof TopicError
            ? err
            : new TopicError("engine_error", `could not start: ${(err as Error).message}`);
        const status = STATUS_OF[refusal.code] ?? 502;
        audit({
          ...entry,
          result: status === 403 ? "denied" : "error",
          status,
          detail: `${refusal.code}: ${refusal.message}`,
        });
        throw refusal;
      }
    },
    refused: (args, { caller, address, options }, refusal) =>
      audit({
        ...entryOf(args, caller, address, Options.safeParse(options ?? {}).data),
        result: "denied",
        status: STATUS_OF[refusal.code] ?? 403,
        detail: `${refusal.code}: ${refusal.message}`,
      }),
    activate: (args, out) => {
      const key = args.join(":");
      const session = sessions.get(key);
      if (!session || session === "starting") return () => {};
      // Set once the shell has exited or the subscriber has left, whichever came first.
      let done = false;
      session.stream.on("data", (chunk: Buffer) =>
        out.emit({ k: "output", d: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) }),
      );
      // A connection reset or a write after the end: 'close' follows and tells the subscriber.
      session.stream.on("error", () => {});
      session.stream.once("close", async () => {
        if (done) return;
        done = true;
        out.end({ k: "exit", d: { code: await session.exec.exitCode() } });
      });
      return () => {
        sessions.delete(key);
        if (done) return;
        done = true;
        session.stream.destroy();
        // The engine keeps an exec running after its client is gone (moby#9098): hang up on it.
        if (session.marker) void hangUp(session);
      };
    },
    input: (args, message) => {
      const session = sessions.get(args.join(":"));
      if (!session || session === "starting") return;
      if (message.k === "input") {
        if (!(message.d instanceof Uint8Array))
          throw new TopicError("bad_frame", "input data (d) must be binary");
        session.stream.write(message.d);
        return;
      }
      const { cols, rows } = (message.d ?? {}) as { cols?: unknown; rows?: unknown };
      if (!isSize(cols) || !isSize(rows)) {
        throw new TopicError("bad_frame", `resize needs integer cols and rows (1-${MAX_TERMINAL_SIZE})`);
      }
      // A resize that fails (the shell just exited) changes nothing worth telling.
      session.exec.resize(cols, rows).catch(() => {});
    },
  });
}

/** A subscriber's options, or a `bad_options` refusal saying what is wrong with them. */
function parseOptions(given: unknown): Options {
  const parsed = Options.safeParse(given ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw new TopicError("bad_options", `exec options: ${where}${issue?.message ?? "invalid"}`);
  }
  if (parsed.data.mode === "attach" && (parsed.data.cmd || parsed.data.user))
    throw new TopicError("bad_options", "attach runs nothing: it takes no cmd nor user");
  return parsed.data;
}

const isSize = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_TERMINAL_SIZE;

/**
 * A non-admin's shell runs with whatever the container was given: exec into a privileged container
 * or one on the host's namespaces is what the engine-safety settings keep non-admins from, so a
 * shell is given only in a container the caller could have made (src/safety/running.ts).
 */
async function refuseUnsafe(env: Environment, id: string, ctx: SafetyContext): Promise<void> {
  const inspect = await env.engine.get<InspectAnswer>(containerPath(id, "/json"));
  const problems = await vetRunning(inspect, ctx);
  if (problems.length) {
    throw new TopicError(
      "engine_safety",
      `no shell in this container: ${problems.join("; ")} (ask an admin)`,
    );
  }
}

/**
 * HUPs every process carrying the session's marker, through a second exec in the container, as the
 * session's user: another user (even root, without CAP_SYS_PTRACE) can neither read its processes'
 * environ nor signal them.
 */
async function hangUp({ engine, container, marker, user }: Session): Promise<void> {
  // environ is NUL-separated, which some greps (busybox -F) do not read past: one line per variable.
  const script = `for p in /proc/[0-9]*; do tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qxF "$1" && kill -HUP "\${p#/proc/}"; done; true`;
  await engine
    .exec(container, { Cmd: ["sh", "-c", script, "sh", marker], User: user, interactive: false })
    // Nothing to hang up on when the container has stopped or gone: its processes went with it.
    .catch(() => {});
}
