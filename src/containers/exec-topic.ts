import type { Duplex } from "node:stream";
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
}

export interface ExecTopicDeps {
  envs: Environments;
  policy: Policy;
  settings: SettingsStore;
  audit: AuditLog;
}

/**
 * `exec:<env>:<container>:<session>`: one interactive `sh` (with a TTY) per topic, for its one
 * subscriber. The shell starts when the subscriber is let in and ends when it leaves.
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
  const entryOf = (args: string[], caller: Caller, address = "") => {
    const { env, container } = resolve(args);
    return {
      user_id: caller.user.id,
      username: caller.user.username,
      address,
      env: env.id,
      action: `EXEC exec:${env.id}:${container.name}`,
      target: `id=${container.id} cmd=sh`,
    };
  };

  bus.register("exec", {
    action: "containers:exec",
    resource: (args) => {
      const { env, container } = resolve(args);
      return { env: env.id, container };
    },
    open: async (args, { caller, address }) => {
      const { env, container, key } = resolve(args);
      if (sessions.has(key)) throw new TopicError("busy", "this terminal session already has its subscriber");
      sessions.set(key, "starting");
      const entry = entryOf(args, caller, address);
      try {
        if (container.state !== "running")
          throw new TopicError("not_running", "the container is not running");
        if (caller.user.role !== "admin")
          await refuseUnsafe(env, container.id, safetyContext(env, policy, caller, engineSafety()));
        const marker = `${SESSION_ENV}=${crypto.randomUUID()}`;
        // The container's own user and no Privileged: exec gets no more rights than the container has.
        const exec = await env.engine.exec(container.id, { Cmd: ["sh"], Env: [marker], interactive: true });
        if (!exec.stream) throw new TopicError("engine_error", "the engine gave the shell no terminal");
        sessions.set(key, { exec, stream: exec.stream, engine: env.engine, container: container.id, marker });
        audit({ ...entry, result: "ok", status: 101, detail: "" });
        return [{ k: "started" }];
      } catch (err) {
        sessions.delete(key);
        const refusal =
          err instanceof TopicError
            ? err
            : new TopicError("engine_error", `could not start a shell: ${(err as Error).message}`);
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
    refused: (args, { caller, address }, refusal) =>
      audit({
        ...entryOf(args, caller, address),
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
        void hangUp(session);
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

/** HUPs every process carrying the session's marker, through a second exec in the container. */
async function hangUp({ engine, container, marker }: Session): Promise<void> {
  // environ is NUL-separated, which some greps (busybox -F) do not read past: one line per variable.
  const script = `for p in /proc/[0-9]*; do tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qxF "$1" && kill -HUP "\${p#/proc/}"; done; true`;
  await engine
    .exec(container, { Cmd: ["sh", "-c", script, "sh", marker], interactive: false })
    // Nothing to hang up on when the container has stopped or gone: its processes went with it.
    .catch(() => {});
}
