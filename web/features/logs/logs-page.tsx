import { useEnv } from "../../app/contexts.ts";
import { containerHref } from "../../app/route.ts";
import { useLiveContainers } from "../containers/containers-page.tsx";
import { LogPanel } from "./log-panel.tsx";

/** Several containers' logs in one view (a selection or a compose project), each line tagged by container. */
export function LogsPage({ ids }: { ids: string[] }) {
  const { id: env } = useEnv();
  const live = useLiveContainers();
  const byId = new Map((live.list ?? []).map((c) => [c.id, c]));
  // Containers the caller may not see are not in its list: their own logs answer "not found".
  const sources = ids.map((id) => ({ id, name: byId.get(id)?.name ?? id.slice(0, 12) }));
  return (
    <main class="page">
      <div class="toolbar">
        <h1>Logs</h1>
        <span class="muted">
          {sources.map((s, i) => (
            <span key={s.id}>
              {i > 0 && ", "}
              <a href={containerHref(env, s.id)}>{s.name}</a>
            </span>
          ))}
        </span>
      </div>
      {live.list ? <LogPanel env={env} sources={sources} active /> : <p class="muted">Loading…</p>}
    </main>
  );
}
