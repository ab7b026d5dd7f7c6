import { useContext, useMemo, useState } from "preact/hooks";
import type { NetworkItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { ReportError } from "../../lib/report.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TableHead } from "../../ui/table-head.tsx";
import { useLiveContainers } from "../containers/containers-page.tsx";
import { CreateNetwork } from "./create-network.tsx";
import { attached, gatewayText, prune, prunePreview, subnetText, useLiveNetworks } from "./networks.ts";
import { RemoveNetwork } from "./remove-network.tsx";

const byName = (a: NetworkItem, b: NetworkItem) => a.name.localeCompare(b.name);

export function NetworksPage() {
  const env = useEnv().id;
  const role = useUser().role;
  const live = useLiveNetworks();
  const containers = useLiveContainers().list;
  const [query, setQuery] = useState("");
  const all = live.list;
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (all ?? [])
      .filter((n) => !q || n.name.toLowerCase().includes(q) || n.driver.includes(q) || n.id.startsWith(q))
      .sort(byName);
  }, [all, query]);
  const operates = role === "admin" || role === "operator";

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Networks</h1>
        <input
          type="search"
          placeholder="Search name, driver, id"
          aria-label="Search networks"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        {all && (
          <span class="count muted" data-testid="count">
            {shown.length === all.length ? all.length : `${shown.length} of ${all.length}`}{" "}
            {all.length === 1 ? "network" : "networks"}
          </span>
        )}
        {operates && <CreateNetwork />}
        {role === "admin" && <PruneNetworks env={env} />}
      </div>
      {live.error && (
        <p class="alert" role="alert">
          {live.error}
        </p>
      )}
      {!all && !live.error && <p class="muted">Loading…</p>}
      {all && shown.length === 0 && <p class="empty muted">No network matches.</p>}
      {shown.length > 0 && (
        <table class="list">
          <TableHead
            columns={["Name", "Driver", "Scope", "Subnet", "Gateway", "Containers"]}
            actions={operates}
          />
          <tbody>
            {shown.map((n) => {
              const users = attached(n, containers);
              return (
                <tr key={n.id} data-testid="network-row" data-name={n.name}>
                  <td class="c-name">
                    <a href={envHref({ page: "network", env, id: n.id })}>{n.name}</a>
                    {n.internal && <span class="badge">internal</span>}
                  </td>
                  <td>{n.driver}</td>
                  <td>{n.scope}</td>
                  <td class="mono">{subnetText(n)}</td>
                  <td class="mono">{gatewayText(n)}</td>
                  <td data-testid="network-containers" title={users.map((c) => c.name).join(", ")}>
                    {users.length}
                  </td>
                  {operates && (
                    <td class="c-actions">
                      <div class="actions">
                        {!n.builtin && <RemoveNetwork network={n} containers={users} />}
                      </div>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}

/** Prune unused networks (admins): the preview names each one before anything goes. */
function PruneNetworks({ env }: { env: string }) {
  const report = useContext(ReportError);
  const [preview, setPreview] = useState<{ id: string; name: string }[] | null>(null);
  const [busy, setBusy] = useState(false);
  const ask = async () => {
    setBusy(true);
    try {
      setPreview((await prunePreview(env)).networks);
    } catch (err) {
      report(err);
    } finally {
      setBusy(false);
    }
  };
  const run = async () => {
    setPreview(null);
    setBusy(true);
    try {
      await prune(env);
    } catch (err) {
      report(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        data-testid="prune-networks"
        disabled={busy}
        aria-busy={busy}
        onClick={() => void ask()}
      >
        Prune unused
      </button>
      {preview && (
        <ConfirmDialog
          title={preview.length ? `Remove ${preview.length} unused networks?` : "No unused networks"}
          confirmLabel={preview.length ? "Remove them" : "Close"}
          danger={preview.length > 0}
          onConfirm={() => (preview.length ? void run() : setPreview(null))}
          onCancel={() => setPreview(null)}
        >
          {preview.length > 0 ? (
            <>
              <p>No container has an endpoint on these; stopped containers that name one lose it:</p>
              <ul data-testid="prune-preview">
                {preview.map((n) => (
                  <li key={n.id}>{n.name}</li>
                ))}
              </ul>
            </>
          ) : (
            <p>Every network but the engine's own is in use.</p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
