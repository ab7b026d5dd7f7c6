/** Container actions: which apply to a container, how they are asked for, and how they are run. */

import { Copy, Pause, Play, Plus, RotateCw, Square, Trash2, Zap } from "lucide";
import type { Capabilities, ContainerState } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";
import type { IconNode } from "../../ui/icon.tsx";

export type Action = "start" | "stop" | "restart" | "pause" | "unpause" | "kill" | "remove";

export const LABELS: Record<Action, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  pause: "Pause",
  unpause: "Unpause",
  kill: "Kill",
  remove: "Remove",
};

/** Each action's icon (lucide), beside its label. */
export const ICONS: Record<Action, IconNode> = {
  start: Play,
  stop: Square,
  restart: RotateCw,
  pause: Pause,
  unpause: Play,
  kill: Zap,
  remove: Trash2,
};
export const CREATE_ICON: IconNode = Plus;
export const DUPLICATE_ICON: IconNode = Copy;

/** Actions that need a confirmation, with what the dialog warns about. */
export const WARNINGS: Partial<Record<Action, string>> = {
  stop: "Its processes get SIGTERM, then SIGKILL once the stop timeout passes.",
  restart: "Its processes are stopped and started again; open connections drop.",
  kill: "Its processes get SIGKILL at once, with no chance to clean up.",
  remove: "The container and its writable layer are deleted. This cannot be undone.",
};

const BY_STATE: Record<ContainerState, Action[]> & Partial<Record<string, Action[]>> = {
  running: ["stop", "restart", "pause", "kill", "remove"],
  paused: ["unpause", "stop", "restart", "kill", "remove"],
  restarting: ["stop", "kill", "remove"],
  created: ["start", "remove"],
  exited: ["start", "remove"],
  // The engine refuses to start a dead container: all that is left is removing it.
  dead: ["remove"],
  removing: [],
};

const NEEDS: Partial<Record<Action, keyof Capabilities>> = {
  pause: "pause",
  unpause: "pause",
  kill: "kill",
  restart: "restart",
};

export function can(caps: Capabilities | null | undefined, feature: keyof Capabilities): boolean {
  return caps?.[feature] !== false;
}

export function actionsFor(state: string, caps: Capabilities | null | undefined): Action[] {
  return (BY_STATE[state] ?? []).filter((a) => {
    const need = NEEDS[a];
    return !need || can(caps, need);
  });
}

export interface RemoveOptions {
  force: boolean;
  volumes: boolean;
}

export function containerPath(env: string, id: string): string {
  return `/envs/${encodeURIComponent(env)}/containers/${encodeURIComponent(id)}`;
}

/**
 * The engine answers a second start of a running container, or stop of a stopped one, with "nothing
 * to do": these may be sent again when their answer is lost. A second pause, unpause or removal
 * is refused, and a restart or kill acts twice.
 */
const REPEATABLE: ReadonlySet<Action> = new Set<Action>(["start", "stop"]);

export function runAction(env: string, id: string, action: Action, opts: RemoveOptions): Promise<void> {
  const path = containerPath(env, id);
  if (action !== "remove")
    return api("POST", `${path}/${action}`, undefined, { repeatable: REPEATABLE.has(action) });
  const query = new URLSearchParams();
  if (opts.force) query.set("force", "true");
  if (opts.volumes) query.set("volumes", "true");
  const qs = query.toString();
  return api("DELETE", qs ? `${path}?${qs}` : path);
}

export function rename(env: string, id: string, name: string): Promise<void> {
  return api("POST", `${containerPath(env, id)}/rename?${new URLSearchParams({ name })}`);
}

/** What a button says while its action runs (a stop can take its 10 s grace period). */
export const PENDING: Record<Action, string> = {
  start: "Starting…",
  stop: "Stopping…",
  restart: "Restarting…",
  pause: "Pausing…",
  unpause: "Resuming…",
  kill: "Killing…",
  remove: "Removing…",
};

/** How a finished action is told: "Stopped web". */
export const DONE: Record<Action, string> = {
  start: "Started",
  stop: "Stopped",
  restart: "Restarted",
  pause: "Paused",
  unpause: "Resumed",
  kill: "Killed",
  remove: "Removed",
};

/**
 * An action's failure in words for people: the engine's messages quote 64-character ids and name
 * options the UI calls otherwise.
 */
export function actionError(err: unknown, action: Action | "rename", name: string): string {
  const status = (err as { status?: number }).status;
  const message = (err instanceof Error ? err.message : String(err)).replace(
    /\b([0-9a-f]{12})[0-9a-f]{52}\b/g,
    "$1",
  );
  if (action === "remove" && status === 409 && /running|stop the container/i.test(message)) {
    return `${name} is running: tick "Force" to stop and remove it.`;
  }
  if (status === 409 && /is not running/i.test(message)) return `${name} is not running.`;
  if (status === 409 && /is not paused/i.test(message)) return `${name} is not paused.`;
  if (status === 403) return `Not allowed to ${action} ${name}: ${message}`;
  if (status === 404) return `${name} is gone: it may have been removed meanwhile.`;
  return `Could not ${action} ${name}: ${message}`;
}
