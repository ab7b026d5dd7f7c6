import "../access/access.css";
import "./envs.css";
import { useEffect, useState } from "preact/hooks";
import type { EnvironmentSummary, EnvironmentView } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref, hashQuery, setHashQuery } from "../../app/route.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { useNow } from "../../lib/clock.ts";
import { useChange } from "../../lib/fetched.ts";
import { cpuText, formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { AddEnvironment, EditEnvironment } from "./env-forms.tsx";
import { JoinAgent } from "./join-agent.tsx";

/** How often the counts and figures are asked again (the list itself is live, on `envs`). */
const SUMMARY_EVERY_MS = 5_000;

/** Every environment the user may see, at a glance; admins add, rename, tag and remove them here. */
export function HomePage() {
  const { all } = useEnv();
  const admin = useUser().role === "admin";
  const summaries = useSummaries();
  const now = useNow(10_000);
  const [tag, setTag] = useState(() => new URLSearchParams(hashQuery()).get("tag") ?? "");
  const [editing, setEditing] = useState<string | null>(null);
  const [removing, setRemoving] = useState<EnvironmentView | null>(null);
  const { busy, run } = useChange();

  const chooseTag = (t: string) => {
    setTag(t);
    setHashQuery(t ? new URLSearchParams({ tag: t }).toString() : "");
  };
  const tags = [...new Set((all ?? []).flatMap((e) => e.tags ?? []))].sort();
  const shown = (all ?? []).filter((e) => !tag || e.tags?.includes(tag));

  return (
    <main class="page home">
      <h1>Environments</h1>
      {tags.length > 0 && (
        <fieldset class="tag-filter">
          <legend>Filter by tag</legend>
          <button type="button" aria-pressed={!tag} data-testid="tag-all" onClick={() => chooseTag("")}>
            All
          </button>
          {tags.map((t) => (
            <button
              type="button"
              key={t}
              data-testid="tag-filter"
              data-tag={t}
              aria-pressed={tag === t}
              onClick={() => chooseTag(tag === t ? "" : t)}
            >
              {t}
            </button>
          ))}
        </fieldset>
      )}
      {summaries.error && (
        <p class="alert" role="alert">
          {summaries.error}
        </p>
      )}
      {all === null && <p class="muted">Loading…</p>}
      {all !== null && shown.length === 0 && <p class="empty muted">No environment has the tag {tag}.</p>}
      <ul class="env-cards">
        {shown.map((e) =>
          editing === e.id ? (
            <li key={e.id} class="env-card" data-testid="env-card" data-id={e.id}>
              <EditEnvironment env={e} onDone={() => setEditing(null)} />
            </li>
          ) : (
            <EnvCard
              key={e.id}
              env={e}
              summary={summaries.data.get(e.id)}
              now={now}
              admin={admin}
              busy={busy}
              onEdit={() => setEditing(e.id)}
              onRemove={() => setRemoving(e)}
            />
          ),
        )}
      </ul>
      {admin && <AddEnvironment />}
      {admin && <JoinAgent />}
      {removing && (
        <ConfirmDialog
          title={
            removing.kind === "agent"
              ? `Remove the edge agent ${removing.name} and revoke its key?`
              : `Remove the environment ${removing.name}?`
          }
          confirmLabel={removing.kind === "agent" ? `Revoke ${removing.name}` : `Remove ${removing.name}`}
          danger
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            const { id } = removing;
            setRemoving(null);
            await run(() => api("DELETE", `/envs/${encodeURIComponent(id)}`));
          }}
        >
          <p>
            The panel stops managing it, and what teams were given of it goes too. The engine and its
            containers are untouched.
          </p>
          {removing.kind === "agent" && (
            <p>
              The agent is disconnected and its key refused from now on: it cannot come back by reconnecting.
              To add that box again, make a new join token.
            </p>
          )}
        </ConfirmDialog>
      )}
    </main>
  );
}

interface CardProps {
  env: EnvironmentView;
  summary: EnvironmentSummary | undefined;
  now: number;
  admin: boolean;
  busy: boolean;
  onEdit: () => void;
  onRemove: () => void;
}

function EnvCard({ env, summary, now, admin, busy, onEdit, onRemove }: CardProps) {
  const memTotal = env.facts?.mem_total;
  return (
    <li class="env-card" data-testid="env-card" data-id={env.id} data-status={env.status}>
      <div class="env-card-head">
        <a href={envHref({ page: "containers", env: env.id })} data-testid="env-enter">
          <span class={`dot dot-${env.status}`} aria-hidden="true" />
          <strong data-testid="env-name">{env.name}</strong>
        </a>
        {env.kind === "agent" && (
          <span class="env-kind" data-testid="env-kind">
            edge agent
          </span>
        )}
        <span class="muted" data-testid="env-status">
          {env.status}
          {env.status !== "up" && ` · last seen ${ago(env.last_seen, now)}`}
        </span>
      </div>
      {env.tags?.length > 0 && (
        <ul class="chips" aria-label="Tags">
          {env.tags.map((t) => (
            <li key={t} data-testid="env-tag">
              {t}
            </li>
          ))}
        </ul>
      )}
      <dl class="facts">
        <dt>Containers</dt>
        <dd data-testid="env-counts">
          {summary ? `${summary.running} running, ${summary.stopped} stopped` : "…"}
        </dd>
        <dt>CPU</dt>
        <dd data-testid="env-cpu">{summary?.figures ? cpuText(summary.cpu_percent) : "–"}</dd>
        <dt>Memory</dt>
        <dd data-testid="env-mem">
          {summary?.figures
            ? `${formatBytes(summary.mem_usage)}${memTotal ? ` of ${formatBytes(memTotal)}` : ""}`
            : "–"}
        </dd>
        {env.status === "up" && (
          <>
            <dt>Engine</dt>
            <dd>{env.facts ? `${env.facts.kind} ${env.facts.version} · ${env.facts.hostname}` : env.kind}</dd>
          </>
        )}
        {env.error && env.status !== "up" && (
          <>
            <dt>Error</dt>
            <dd>{env.error}</dd>
          </>
        )}
      </dl>
      {admin && (
        <div class="actions">
          <button type="button" data-action="edit" disabled={busy} onClick={onEdit}>
            Edit
          </button>
          {env.id !== "local" && (
            <button type="button" class="danger-text" data-action="remove" disabled={busy} onClick={onRemove}>
              Remove
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** The counts and figures of every environment, asked again every few seconds while the page is open. */
function useSummaries(): { data: Map<string, EnvironmentSummary>; error: string | null } {
  const [state, setState] = useState<{ data: Map<string, EnvironmentSummary>; error: string | null }>({
    data: new Map(),
    error: null,
  });
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api<EnvironmentSummary[]>("GET", "/overview")
        .then(
          (list) => live && setState({ data: new Map(list.map((s) => [s.id, s])), error: null }),
          (err: unknown) => live && setState((s) => ({ ...s, error: errorMessage(err) })),
        )
        .finally(() => {
          if (live) timer = setTimeout(load, SUMMARY_EVERY_MS);
        });
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);
  return state;
}

function ago(ms: number | null, now: number): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}
