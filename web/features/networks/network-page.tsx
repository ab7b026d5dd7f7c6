import "./networks.css";
import { useContext, useEffect, useState } from "preact/hooks";
import type { ContainerItem, NetworkItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { containerHref, envHref, navigate } from "../../app/route.ts";
import { errorMessage } from "../../lib/api.ts";
import { ReportError } from "../../lib/report.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { useLiveContainers } from "../containers/containers-page.tsx";
import { StateBadge } from "../containers/state-badge.tsx";
import { attached, connect, disconnect, inspectNetwork, useLiveNetworks } from "./networks.ts";
import { RemoveNetwork } from "./remove-network.tsx";

interface Props {
  /** Full id as linked from the list; a name or id prefix typed into the address works too. */
  id: string;
}

export function NetworkPage({ id }: Props) {
  const env = useEnv().id;
  const role = useUser().role;
  const live = useLiveNetworks();
  const containers = useLiveContainers().list;
  const n =
    live.list?.find((x) => x.id === id) ?? live.list?.find((x) => x.name === id || x.id.startsWith(id));
  const list = envHref({ page: "networks", env });
  const back = (
    <a class="back" href={list}>
      ← Networks
    </a>
  );
  if (!n)
    return (
      <main class="page">
        {back}
        {live.error ? (
          <p class="alert" role="alert">
            {live.error}
          </p>
        ) : (
          <p class="muted">{live.list ? `No network “${id}”: it may have been removed.` : "Loading…"}</p>
        )}
      </main>
    );
  const users = attached(n, containers);
  const operates = role === "admin" || role === "operator";
  return (
    <main class="page detail">
      {back}
      <header class="detail-head">
        <h1>{n.name}</h1>
        <span class="badge">{n.driver}</span>
        {operates && !n.builtin && (
          <div class="actions">
            <RemoveNetwork network={n} containers={users} onRemoved={() => navigate(list)} />
          </div>
        )}
      </header>
      <Facts n={n} />
      <h2>Containers</h2>
      {users.length === 0 ? (
        <p class="muted">No container you may see uses it.</p>
      ) : (
        <table class="list" data-testid="attached">
          <TableHead columns={["State", "Name", "Image"]} actions={operates} />
          <tbody>
            {users.map((c) => (
              <tr key={c.id} data-testid="attached-row" data-name={c.name}>
                <td>
                  <StateBadge state={c.state} />
                </td>
                <td class="c-name">
                  <a href={containerHref(env, c.id)}>{c.name}</a>
                </td>
                <td class="c-image">{c.image}</td>
                {operates && (
                  <td class="c-actions">
                    <Disconnect network={n} container={c} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {operates && n.name !== "host" && n.name !== "none" && (
        <ConnectForm
          network={n}
          candidates={(containers ?? []).filter((c) => !c.networks.includes(n.name))}
        />
      )}
      <h2>Inspect</h2>
      <Inspect id={n.id} version={`${n.id}:${users.map((c) => c.id).join(",")}`} />
    </main>
  );
}

function Facts({ n }: { n: NetworkItem }) {
  const row = (label: string, value: string) => (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
  const map = (m: Record<string, string>) =>
    Object.entries(m)
      .map(([k, v]) => (v ? `${k}=${v}` : k))
      .join(", ") || "—";
  return (
    <dl class="facts">
      <dt>ID</dt>
      <dd class="mono" title={n.id}>
        {n.id.slice(0, 12)}
      </dd>
      {row("Scope", n.scope)}
      {row("Created", n.created ? new Date(n.created).toLocaleString() : "—")}
      {n.subnets.map((s) => (
        <>
          <dt>Subnet</dt>
          <dd class="mono">
            {s.subnet}
            {s.gateway ? ` via ${s.gateway}` : ""}
            {s.ip_range ? `, addresses from ${s.ip_range}` : ""}
          </dd>
        </>
      ))}
      {row("Internal", n.internal ? "yes: no traffic leaves it" : "no")}
      {row("Attachable", n.attachable ? "yes" : "no")}
      {row("IPv6", n.ipv6 ? "yes" : "no")}
      {row("Labels", map(n.labels))}
      {row("Options", map(n.options))}
    </dl>
  );
}

function Disconnect({ network, container }: { network: NetworkItem; container: ContainerItem }) {
  const env = useEnv().id;
  const report = useContext(ReportError);
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class="danger-text"
      data-action="disconnect"
      disabled={busy}
      aria-busy={busy}
      onClick={() => {
        setBusy(true);
        disconnect(env, network.id, container.id)
          .catch(report)
          .finally(() => setBusy(false));
      }}
    >
      Disconnect
    </button>
  );
}

/** Connect a container, with aliases and a fixed address if the network has a subnet of its own. */
function ConnectForm({ network, candidates }: { network: NetworkItem; candidates: ContainerItem[] }) {
  const env = useEnv().id;
  const [container, setContainer] = useState("");
  const [aliases, setAliases] = useState("");
  const [ip, setIp] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (candidates.length === 0) return null;
  const submit = async () => {
    setBusy(true);
    setError(null);
    const names = aliases
      .split(/[\s,]+/)
      .map((a) => a.trim())
      .filter(Boolean);
    try {
      await connect(env, network.id, {
        Container: container || candidates[0]!.id,
        ...(names.length || ip.trim()
          ? {
              EndpointConfig: {
                ...(names.length ? { Aliases: names } : {}),
                ...(ip.trim() ? { IPAMConfig: { IPv4Address: ip.trim() } } : {}),
              },
            }
          : {}),
      });
      setAliases("");
      setIp("");
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="connect-form"
      data-testid="connect-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2>Connect a container</h2>
      <div class="form-grid">
        <label class="field">
          Container
          <select name="container" value={container} onChange={(e) => setContainer(e.currentTarget.value)}>
            {candidates.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <TextField label="Aliases (comma-separated)" name="aliases" value={aliases} onValue={setAliases} />
        <TextField label="IPv4 address (optional)" name="ip" value={ip} onValue={setIp} />
      </div>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        Connect
      </button>
    </form>
  );
}

function Inspect({ id, version }: { id: string; version: string }) {
  const env = useEnv().id;
  const [json, setJson] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    inspectNetwork(env, id).then(
      (data) => current && setJson(JSON.stringify(data, null, 2)),
      (err: unknown) => current && setError(errorMessage(err)),
    );
    return () => {
      current = false;
    };
  }, [env, id, version]);
  if (error)
    return (
      <p class="alert" role="alert">
        {error}
      </p>
    );
  return json === null ? <p class="muted">Loading…</p> : <pre class="inspect">{json}</pre>;
}
