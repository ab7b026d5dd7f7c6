import type { Environments } from "../envs/environments.ts";

/**
 * A container joining or leaving a network sends a network event, not a container one: the
 * container mirror (which knows each container's networks, and so who is attached where) is told
 * to read that container again, so `docker network connect` shows at once, not at the next reconcile.
 */
export function followAttachments(envs: Environments): void {
  const follow = (envId: string) => {
    const env = envs.get(envId);
    env?.connection.onEvent((event) => {
      const container = event.Actor?.Attributes?.container;
      if (event.Type !== "network" || !container) return;
      if (event.Action !== "connect" && event.Action !== "disconnect") return;
      void env.containers.refresh(container).catch(() => {});
    });
  };
  envs.onEnv((e) => {
    if (e.kind === "added") follow(e.id);
  });
  for (const env of envs.list()) follow(env.id);
}
