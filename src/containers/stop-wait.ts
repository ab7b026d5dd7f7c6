import type { Engine } from "../engine/engine.ts";
import { containerPath } from "../engine/paths.ts";

/** The longest stop the panel waits for: the largest `?t=` the stop route takes. */
const LONGEST_S = 3600;

/**
 * How long to give the engine's stop (or restart) of a container told to take `seconds`: that long,
 * then 30 s for the kill and the engine's own bookkeeping. Docker reads a negative time as "wait
 * for the process however long it takes"; the panel waits the longest stop it accepts.
 */
export function stopWaitMs(seconds: number): number {
  return ((seconds < 0 ? LONGEST_S : Math.min(seconds, LONGEST_S)) + 30) * 1000;
}

/**
 * The time the engine gives a stop told no `t`: the container's own (compose's stop_grace_period,
 * `docker run --stop-timeout`), else Docker's 10 s. An engine that cannot say (no inspect: Bolt's
 * compat server) gets the default, without being asked.
 */
export async function stopTimeoutOf(engine: Engine, ref: string): Promise<number> {
  if (engine.capabilities?.inspect === false) return 10;
  const info = await engine
    .get<{ Config?: { StopTimeout?: unknown } }>(containerPath(ref, "/json"))
    .catch(() => undefined);
  const t = info?.Config?.StopTimeout;
  return typeof t === "number" && Number.isInteger(t) ? t : 10;
}
