import { useState } from "preact/hooks";
import type { Deployment } from "../../../src/protocol/apps.ts";
import { useEnv } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { useNow } from "../../lib/clock.ts";
import { dateTime, useFetched } from "../../lib/fetched.ts";
import { statusText } from "../../lib/format.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { useLiveContainers } from "../containers/containers-page.tsx";
import { StateBadge } from "../containers/state-badge.tsx";
import { LogPanel } from "../logs/log-panel.tsx";
import { StatsTab } from "../stats/stats-tab.tsx";
import { appsOf } from "./apps.ts";
import { RestartButton } from "./restart-button.tsx";

type Tab = "logs" | "stats" | "deployments";
const TAB_LABELS: Record<Tab, string> = { logs: "Logs", stats: "Stats", deployments: "Deployments" };

/** One app, as its owner sees it: status, restart, its live log and figures, its deployments. */
export function AppPage({ name }: { name: string }) {
  const env = useEnv().id;
  const live = useLiveContainers();
  const now = useNow(30_000);
  const [tab, setTab] = useState<Tab>("logs");
  const app = live.list ? appsOf(live.list).find((a) => a.name === name) : undefined;
  const back = (
    <a class="back" href={envHref({ page: "apps", env })}>
      ← Apps
    </a>
  );
  if (!app) {
    return (
      <main class="page">
        {back}
        <p class={live.error ? "alert" : "muted"}>
          {live.error ?? (live.list ? `No app “${name}” that you may see.` : "Loading…")}
        </p>
      </main>
    );
  }
  const c = app.container;
  return (
    <main class="page detail" data-testid="app-page">
      {back}
      <header class="detail-head">
        <h1>{app.name}</h1>
        <StateBadge state={c.state} />
        <span class="muted">{statusText(c, now)}</span>
        <RestartButton container={c} />
      </header>
      <dl class="facts">
        <dt>Domain</dt>
        <dd>{app.domain ?? "—"}</dd>
        <dt>Image</dt>
        <dd>{c.image}</dd>
        <dt>Container</dt>
        <dd>
          <a href={envHref({ page: "container", env, id: c.id })}>{c.name}</a>
        </dd>
      </dl>
      <div class="tabs" role="tablist">
        {(Object.keys(TAB_LABELS) as Tab[]).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            data-tab={t}
            aria-selected={t === tab}
            onClick={() => setTab(t)}
          >
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      <section role="tabpanel" hidden={tab !== "logs"}>
        <LogPanel
          key={c.id}
          env={env}
          sources={[{ id: c.id, name: c.name }]}
          runKey={c.started_at}
          active={tab === "logs"}
        />
      </section>
      {tab === "stats" && (
        <section role="tabpanel">
          <StatsTab id={c.id} />
        </section>
      )}
      {tab === "deployments" && (
        <section role="tabpanel">
          <Deployments app={app.name} />
        </section>
      )}
    </main>
  );
}

/** The app's timeline: each redeploy onto another image, newest first, and who did it through the panel. */
function Deployments({ app }: { app: string }) {
  const env = useEnv().id;
  const list = useFetched<Deployment[]>(
    `/envs/${encodeURIComponent(env)}/deployments?app=${encodeURIComponent(app)}`,
  );
  if (list.error)
    return (
      <p class="alert" role="alert">
        {list.error}
      </p>
    );
  if (!list.data) return <p class="muted">Loading…</p>;
  if (list.data.length === 0) return <p class="empty muted">No redeploy onto another image seen yet.</p>;
  const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
  return (
    <table class="list" data-testid="deployments">
      <TableHead columns={["When", "From", "To", "By"]} />
      <tbody>
        {list.data.map((d) => (
          <tr key={d.id} data-testid="deployment">
            <td>{dateTime(d.at)}</td>
            <td class="mono" title={d.old_image_id}>
              {d.old_image} ({short(d.old_image_id)})
            </td>
            <td class="mono" title={d.new_image_id}>
              {d.new_image} ({short(d.new_image_id)})
            </td>
            <td>{d.username || <span class="muted">outside the panel</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
