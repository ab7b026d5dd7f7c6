/** Container actions: which apply to a container, how they are asked for, and how they are run. */

import type { Capabilities, ContainerState } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";

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

export function runAction(env: string, id: string, action: Action, opts: RemoveOptions): Promise<void> {
  const path = containerPath(env, id);
  if (action !== "remove") return api("POST", `${path}/${action}`);
  const query = new URLSearchParams();
  if (opts.force) query.set("force", "true");
  if (opts.volumes) query.set("volumes", "true");
  const qs = query.toString();
  return api("DELETE", qs ? `${path}?${qs}` : path);
}

export function rename(env: string, id: string, name: string): Promise<void> {
  return api("POST", `${containerPath(env, id)}/rename?${new URLSearchParams({ name })}`);
}
