import { Fragment } from "preact";
import { useState } from "preact/hooks";
import type { Alert, AlertRule, Delivery, RuleKind, Webhook } from "../../../src/protocol/alerts.ts";
import { RULE_KINDS } from "../../../src/protocol/alerts.ts";
import { useUser } from "../../app/contexts.ts";
import { api } from "../../lib/api.ts";
import { dateTime, useChange, useFetched } from "../../lib/fetched.ts";
import { useTopic } from "../../lib/live.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { TextField } from "../../ui/text-field.tsx";

/** Alerts, live; for admins also the rules, the webhooks and each alert's deliveries. */
export function AlertsPage() {
  const admin = useUser().role === "admin";
  return (
    <main class="page alerts-page">
      <h1>Alerts</h1>
      <AlertList admin={admin} />
      {admin && <RulesAndWebhooks />}
    </main>
  );
}

function useLiveAlerts(): Alert[] | null {
  const [alerts, setAlerts] = useState<Map<number, Alert> | null>(null);
  useTopic("alerts", (kind, data) => {
    if (kind === "snapshot") setAlerts(new Map((data as Alert[]).map((a) => [a.id, a])));
    else if (kind === "upsert") setAlerts((m) => new Map(m ?? []).set((data as Alert).id, data as Alert));
  });
  if (!alerts) return null;
  return [...alerts.values()].sort(
    (a, b) => Number(b.state === "firing") - Number(a.state === "firing") || b.id - a.id,
  );
}

function AlertList({ admin }: { admin: boolean }) {
  const alerts = useLiveAlerts();
  const canAck = useUser().role !== "viewer";
  const { busy, run } = useChange();
  const [open, setOpen] = useState<number | null>(null);
  if (!alerts) return <p class="muted">Loading…</p>;
  if (alerts.length === 0) return <p class="empty muted">No alerts.</p>;
  return (
    <table class="list" data-testid="alerts">
      <TableHead columns={["State", "Rule", "What", "Since", "Acknowledged"]} actions />
      <tbody>
        {alerts.map((a) => (
          <Fragment key={a.id}>
            <tr data-testid="alert" data-state={a.state}>
              <td>
                <span class={`badge ${a.state === "firing" ? "st-dead" : "st-exited"}`}>{a.state}</span>
                {a.silenced && <span class="muted"> (silenced)</span>}
              </td>
              <td>{a.rule}</td>
              <td>{a.message}</td>
              <td>{dateTime(a.started_at)}</td>
              <td>{a.acked_by ? `${a.acked_by}, ${dateTime(a.acked_at)}` : "—"}</td>
              <td>
                {canAck && !a.acked_by && (
                  <button
                    type="button"
                    data-action="ack"
                    disabled={busy}
                    onClick={() => run(() => api("POST", `/alerts/${a.id}/ack`))}
                  >
                    Acknowledge
                  </button>
                )}
                {admin && (
                  <button type="button" class="quiet" onClick={() => setOpen(open === a.id ? null : a.id)}>
                    Deliveries
                  </button>
                )}
              </td>
            </tr>
            {open === a.id && (
              <tr>
                <td colSpan={6}>
                  <Deliveries alert={a.id} />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}

function Deliveries({ alert }: { alert: number }) {
  const log = useFetched<Delivery[]>(`/alerts/deliveries?alert=${alert}`);
  if (log.error) return <p class="alert">{log.error}</p>;
  if (!log.data) return <p class="muted">Loading…</p>;
  if (log.data.length === 0) return <p class="muted">Sent nowhere.</p>;
  return (
    <ul data-testid="deliveries">
      {log.data.map((d) => (
        <li key={d.id}>
          {dateTime(d.at)}: {d.event} to webhook #{d.webhook_id}, attempt {d.attempt} —{" "}
          {d.ok ? `delivered (${d.status})` : `failed: ${d.error}`}
        </li>
      ))}
    </ul>
  );
}

const KIND_HELP: Record<RuleKind, string> = {
  cpu: "CPU % (of one CPU) over the threshold for N seconds",
  memory: "memory % of the limit over the threshold for N seconds",
  died: "the container stopped on its own",
  oom: "the kernel killed it for lack of memory",
  unhealthy: "its health check fails",
  restart_loop: "threshold starts within N seconds",
  engine_down: "the engine does not answer",
};

function RulesAndWebhooks() {
  const rules = useFetched<AlertRule[]>("/alerts/rules");
  const hooks = useFetched<Webhook[]>("/alerts/webhooks");
  const { busy, run } = useChange();
  return (
    <>
      <h2>Rules</h2>
      {rules.error && <p class="alert">{rules.error}</p>}
      {rules.data && rules.data.length > 0 && (
        <table class="list" data-testid="rules">
          <TableHead columns={["Name", "Kind", "Target", "Threshold", "For (s)", "Silenced until"]} actions />
          <tbody>
            {rules.data.map((r) => (
              <tr key={r.id} data-testid="rule" data-name={r.name}>
                <td>{r.name}</td>
                <td title={KIND_HELP[r.kind]}>{r.kind}</td>
                <td>
                  {r.env}
                  {r.target ? ` / ${r.target}` : " / every container"}
                </td>
                <td>{r.threshold}</td>
                <td>{r.for_seconds}</td>
                <td>{r.silenced_until > Date.now() ? dateTime(r.silenced_until) : "—"}</td>
                <td>
                  <button
                    type="button"
                    disabled={busy}
                    onClick={async () => {
                      const minutes = r.silenced_until > Date.now() ? 0 : 60;
                      if (await run(() => api("POST", `/alerts/rules/${r.id}/silence`, { minutes })))
                        rules.reload();
                    }}
                  >
                    {r.silenced_until > Date.now() ? "Unsilence" : "Silence 1 h"}
                  </button>
                  <button
                    type="button"
                    class="danger-text"
                    disabled={busy}
                    onClick={async () => {
                      if (await run(() => api("DELETE", `/alerts/rules/${r.id}`))) rules.reload();
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewRule webhooks={hooks.data ?? []} onMade={rules.reload} />
      <h2>Webhooks</h2>
      {hooks.error && <p class="alert">{hooks.error}</p>}
      {hooks.data && hooks.data.length > 0 && (
        <ul data-testid="webhooks">
          {hooks.data.map((h) => (
            <li key={h.id}>
              #{h.id} {h.name} <span class="mono muted">{h.url}</span>{" "}
              <button
                type="button"
                class="quiet"
                disabled={busy}
                onClick={async () => {
                  if (await run(() => api("DELETE", `/alerts/webhooks/${h.id}`))) hooks.reload();
                }}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <NewWebhook onMade={hooks.reload} />
    </>
  );
}

function NewRule({ webhooks, onMade }: { webhooks: Webhook[]; onMade: () => void }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<RuleKind>("cpu");
  const [env, setEnv] = useState("local");
  const [target, setTarget] = useState("");
  const [threshold, setThreshold] = useState("80");
  const [seconds, setSeconds] = useState("60");
  const [hooks, setHooks] = useState<number[]>([]);
  const { busy, run } = useChange();
  return (
    <form
      class="box form-row"
      data-testid="new-rule"
      onSubmit={async (e) => {
        e.preventDefault();
        const body = {
          name,
          kind,
          env,
          target,
          threshold: Number(threshold),
          for_seconds: Number(seconds),
          webhooks: hooks,
        };
        if (await run(() => api("POST", "/alerts/rules", body))) {
          setName("");
          onMade();
        }
      }}
    >
      <TextField label="Name" name="rule_name" value={name} onValue={setName} required maxLength={100} />
      <label class="field">
        Kind
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as RuleKind)}>
          {RULE_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}: {KIND_HELP[k]}
            </option>
          ))}
        </select>
      </label>
      <TextField label="Environment" name="env" value={env} onValue={setEnv} required />
      <TextField label="Container or app (empty: all)" name="target" value={target} onValue={setTarget} />
      <TextField label="Threshold" name="threshold" type="number" value={threshold} onValue={setThreshold} />
      <TextField
        label="For (seconds)"
        name="for_seconds"
        type="number"
        value={seconds}
        onValue={setSeconds}
      />
      {webhooks.length > 0 && (
        <fieldset class="choices">
          <legend>Send to</legend>
          {webhooks.map((h) => (
            <label class="check" key={h.id}>
              <input
                type="checkbox"
                checked={hooks.includes(h.id)}
                onChange={(e) =>
                  setHooks(e.currentTarget.checked ? [...hooks, h.id] : hooks.filter((x) => x !== h.id))
                }
              />
              {h.name}
            </label>
          ))}
        </fieldset>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Add rule
      </button>
    </form>
  );
}

function NewWebhook({ onMade }: { onMade: () => void }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const { busy, run } = useChange();
  return (
    <form
      class="box form-row"
      data-testid="new-webhook"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await run(() => api("POST", "/alerts/webhooks", { name, url }))) {
          setName("");
          setUrl("");
          onMade();
        }
      }}
    >
      <TextField label="Name" name="webhook_name" value={name} onValue={setName} required maxLength={100} />
      <TextField label="URL (kept sealed)" name="url" value={url} onValue={setUrl} required />
      <button type="submit" class="primary" disabled={busy}>
        Add webhook
      </button>
    </form>
  );
}
