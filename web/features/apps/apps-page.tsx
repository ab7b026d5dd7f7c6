import { useEnv } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { useNow } from "../../lib/clock.ts";
import { statusText } from "../../lib/format.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { useLiveContainers } from "../containers/containers-page.tsx";
import { StateBadge } from "../containers/state-badge.tsx";
import { appsOf } from "./apps.ts";
import { RestartButton } from "./restart-button.tsx";

/**
 * The Vesla apps of this engine that the user may see (an app owner: the apps assigned to its
 * teams), live: status, and a way in to each one's logs, figures and deployments.
 */
export function AppsPage() {
  const env = useEnv().id;
  const live = useLiveContainers();
  const now = useNow(30_000);
  const apps = live.list ? appsOf(live.list) : null;
  return (
    <main class="page apps-page">
      <h1>Apps</h1>
      {live.error && (
        <p class="alert" role="alert">
          {live.error}
        </p>
      )}
      {!apps && !live.error && <p class="muted">Loading…</p>}
      {apps?.length === 0 && (
        <p class="empty muted">
          No Vesla app here (containers labelled <code>vesla.managed=true</code> and <code>vesla.app</code>)
          that you may see.
        </p>
      )}
      {apps && apps.length > 0 && (
        <table class="list" data-testid="apps">
          <TableHead columns={["App", "State", "Status", "Image", "Domain"]} actions />
          <tbody>
            {apps.map((a) => (
              <tr key={a.name} data-testid="app" data-name={a.name}>
                <td>
                  <a href={envHref({ page: "app", env, id: a.name })}>{a.name}</a>
                </td>
                <td>
                  <StateBadge state={a.container.state} />
                </td>
                <td class="muted">{statusText(a.container, now)}</td>
                <td class="mono">{a.container.image}</td>
                <td>{a.domain ?? "—"}</td>
                <td>
                  <RestartButton container={a.container} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
