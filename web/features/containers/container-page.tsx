import { useEffect } from "preact/hooks";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref, navigate } from "../../app/route.ts";
import { useNow } from "../../lib/clock.ts";
import { portLabels, statusText } from "../../lib/format.ts";
import { Icon } from "../../ui/icon.tsx";
import { LogPanel } from "../logs/log-panel.tsx";
import { StatsTab } from "../stats/stats-tab.tsx";
import { can, DUPLICATE_ICON } from "./actions.ts";
import { ContainerActions } from "./container-actions.tsx";
import { useLiveContainers } from "./containers-page.tsx";
import { InspectView } from "./inspect-view.tsx";
import { Overview } from "./overview.tsx";
import { PortList } from "./port-list.tsx";
import { StateBadge } from "./state-badge.tsx";
import { TerminalTab } from "./terminal-tab.tsx";
import { UpdatePanel, useUpdates } from "./updates.tsx";

type Tab = "logs" | "overview" | "inspect" | "stats" | "terminal";

const TAB_LABELS: Record<Tab, string> = {
  logs: "Logs",
  overview: "Overview",
  inspect: "Inspect",
  stats: "Stats",
  terminal: "Terminal",
};

interface Props {
  /** Full id as linked from the list; an id prefix or a name typed into the address works too. */
  id: string;
  /** the tab open, from the address */
  tab?: string | undefined;
}

export function ContainerPage({ id, tab: tabInUrl }: Props) {
  const { id: env, view } = useEnv();
  const caps = view?.capabilities;
  const live = useLiveContainers();
  const updates = useUpdates();
  // Admins and operators may run commands in containers; the server decides in which.
  const role = useUser().role;
  const canExec = role === "admin" || role === "operator";
  const tab = (tabInUrl ?? "logs") as Tab;
  // The open tab lives in the address: a reload or a shared link opens the same one.
  const setTab = (t: Tab) =>
    navigate(envHref({ page: "container", env, id, tab: t === "logs" ? undefined : t }));
  const now = useNow(30_000);
  const c =
    live.list?.find((x) => x.id === id) ?? live.list?.find((x) => x.name === id || x.id.startsWith(id));

  useEffect(() => {
    document.title = c ? `${c.name} · GhostPanel` : "GhostPanel";
    return () => {
      document.title = "GhostPanel";
    };
  }, [c?.name]);

  const list = envHref({ page: "containers", env });
  const back = (
    <a class="back" href={list}>
      ← Containers
    </a>
  );
  if (!c) {
    return (
      <main class="page">
        {back}
        {live.error ? (
          <p class="alert" role="alert">
            {live.error}
          </p>
        ) : (
          <p class="muted">{live.list ? `No container “${id}”: it may have been removed.` : "Loading…"}</p>
        )}
      </main>
    );
  }

  const tabs = (["logs", "overview", "inspect", "stats", "terminal"] as const).filter((t) =>
    t === "terminal"
      ? canExec && c.state === "running"
      : t === "stats" || can(caps, t === "overview" ? "inspect" : t),
  );
  const current = tabs.includes(tab) ? tab : tabs[0];
  return (
    <main class="page detail">
      {back}
      <header class="detail-head">
        <h1>{c.name}</h1>
        <StateBadge state={c.state} />
        <span class="muted">{statusText(c, now)}</span>
        <ContainerActions container={c} withRename onRemoved={() => navigate(list)} />
        {canExec && caps?.create !== false && (
          <a class="button" href={envHref({ page: "create", env, from: c.id })} data-testid="duplicate">
            <Icon icon={DUPLICATE_ICON} />
            Duplicate
          </a>
        )}
        {canExec && caps?.create !== false && (
          <a
            class="button"
            href={envHref({ page: "create", env, from: c.id, edit: true })}
            data-testid="edit"
          >
            Edit
          </a>
        )}
      </header>
      <dl class="facts">
        <dt>Image</dt>
        <dd>
          {c.image} <UpdatePanel id={c.id} name={c.name} update={updates.get(c.id)} />
        </dd>
        <dt>ID</dt>
        <dd class="mono" title={c.id}>
          {c.id.slice(0, 12)}
        </dd>
        <dt>Command</dt>
        <dd class="mono">{c.command || "—"}</dd>
        <dt>Created</dt>
        <dd>{new Date(c.created * 1000).toLocaleString()}</dd>
        {c.ports.length > 0 && (
          <>
            <dt>Ports</dt>
            <dd>
              <PortList ports={portLabels(c.ports)} />
            </dd>
          </>
        )}
        {c.networks.length > 0 && (
          <>
            <dt>Networks</dt>
            <dd>{c.networks.join(", ")}</dd>
          </>
        )}
      </dl>
      {current && (
        <div
          class="tabs"
          role="tablist"
          aria-label="Container views"
          onKeyDown={(e) => moveTab(e, tabs, current, setTab)}
        >
          {tabs.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              data-tab={t}
              aria-selected={t === current}
              // One tab stop for the whole row; arrow keys move between the tabs.
              tabIndex={t === current ? 0 : -1}
              onClick={() => setTab(t)}
            >
              {TAB_LABELS[t]}
            </button>
          ))}
        </div>
      )}
      {tabs.includes("logs") && (
        // Stays mounted behind the Inspect tab so the followed output is not lost meanwhile.
        <section role="tabpanel" hidden={current !== "logs"}>
          <LogPanel
            key={c.id}
            env={env}
            sources={[{ id: c.id, name: c.name }]}
            runKey={c.started_at}
            active={current === "logs"}
          />
        </section>
      )}
      {current === "overview" && (
        <section role="tabpanel">
          <Overview id={c.id} version={c} />
        </section>
      )}
      {current === "inspect" && (
        <section role="tabpanel">
          <InspectView id={c.id} version={c} />
        </section>
      )}
      {current === "stats" && (
        // Mounted only while shown: its live subscription is what makes an engine stream stats.
        <section role="tabpanel">
          <StatsTab id={c.id} />
        </section>
      )}
      {current === "terminal" && (
        // Mounted only while shown: leaving the tab ends the shell.
        <section role="tabpanel">
          <TerminalTab id={c.id} />
        </section>
      )}
    </main>
  );
}

/** Arrow keys, Home and End move between tabs, as the ARIA tabs pattern has it. */
function moveTab(e: KeyboardEvent, tabs: readonly Tab[], current: Tab, setTab: (t: Tab) => void): void {
  const at = tabs.indexOf(current);
  const to =
    e.key === "ArrowRight"
      ? (at + 1) % tabs.length
      : e.key === "ArrowLeft"
        ? (at - 1 + tabs.length) % tabs.length
        : e.key === "Home"
          ? 0
          : e.key === "End"
            ? tabs.length - 1
            : -1;
  if (to < 0) return;
  e.preventDefault();
  setTab(tabs[to]!);
  const list = e.currentTarget as HTMLElement;
  requestAnimationFrame(() => list.querySelector<HTMLElement>(`[data-tab="${tabs[to]}"]`)?.focus());
}
