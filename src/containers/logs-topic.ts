import type { LogLine } from "../engine/log-lines.ts";
import { followLogs } from "../engine/logs.ts";
import type { Environments } from "../envs/environments.ts";
import { containerIn, envFor } from "../envs/resolve.ts";
import { packLines } from "../protocol/log-batch.ts";
import { type TopicBus, TopicError } from "../stream/bus.ts";
import { LineBatcher } from "./log-batcher.ts";

const TAIL = 200;

/**
 * `logs:<env>:<container>`: one engine log stream per container however many people watch it.
 * The newest lines are kept so that a later subscriber starts with the same tail. Lines go out in
 * batches (LineBatcher), packed by column (src/protocol/log-batch.ts).
 */
export function registerLogTopic(bus: TopicBus, { envs }: { envs: Environments }): void {
  const recent = new Map<string, LogLine[]>();
  const resolve = (args: string[]) => {
    const [envId = "", ref = ""] = args;
    const env = envFor(envs, envId);
    if (env.engine.capabilities && !env.engine.capabilities.logs) {
      throw new TopicError("unsupported", `engine "${env.name}" does not serve container logs`);
    }
    const container = containerIn(env, ref);
    return { env, container, key: `${envId}:${container.id}` };
  };
  bus.register("logs", {
    action: "containers:read",
    resource: (args) => {
      const { env, container } = resolve(args);
      return { env: env.id, container };
    },
    open: (args) => {
      const { key } = resolve(args);
      const lines = recent.get(key);
      return lines?.length ? [{ k: "lines", d: packLines(lines) }] : [];
    },
    activate: (args, out) => {
      const { env, container, key } = resolve(args);
      const kept: LogLine[] = [];
      recent.set(key, kept);
      // `kept` follows what was sent, so a later subscriber's tail joins the frames it gets next.
      const batcher = new LineBatcher((lines) => {
        kept.push(...lines);
        if (kept.length > TAIL) kept.splice(0, kept.length - TAIL);
        out.emit({ k: "lines", d: packLines(lines) });
      });
      const stop = followLogs(
        env.engine,
        container.id,
        container.tty,
        { tail: TAIL, timestamps: true, stdout: true, stderr: true },
        (lines) => batcher.push(lines),
        (reason) => {
          batcher.flush();
          out.end({ k: "end", d: { reason } });
        },
      );
      return () => {
        batcher.stop();
        stop();
        recent.delete(key);
      };
    },
  });
}
