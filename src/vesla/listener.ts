import { createApp } from "../server/app.ts";
import type { PanelDeps } from "../server/deps.ts";
import { ROUTE_MODULES } from "../server/modules.ts";

/**
 * `--vesla-listen`: a second listener where existing Vesla tooling finds the console it knew (port
 * 5003), answering only the Vesla routes, behind the same middleware as the panel (the same logins
 * and tokens, audit, limits); nothing else of the panel is reachable there.
 */
export function serveVesla(
  deps: PanelDeps,
  at: { host: string; port: number },
): ReturnType<typeof Bun.serve> {
  const { app } = createApp(
    deps,
    ROUTE_MODULES.filter((m) => m.name === "vesla"),
    false,
  );
  return Bun.serve({ hostname: at.host, port: at.port, fetch: app.fetch });
}
