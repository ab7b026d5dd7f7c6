import { useState } from "preact/hooks";
import type { EnvironmentView } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";
import { dateTime, useChange, useFetched } from "../../lib/fetched.ts";
import type { ApiToken, Me } from "../../lib/types.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { OnceValue } from "../../ui/once-value.tsx";
import { TableHead } from "../../ui/table-head.tsx";
import { TextField } from "../../ui/text-field.tsx";

const MIN_PASSWORD = 8;

export function AccountPage() {
  const me = useFetched<Me>("/auth/me");
  return (
    <main class="page access">
      <h1>Account</h1>
      {me.error && (
        <p class="alert" role="alert">
          {me.error}
        </p>
      )}
      {me.data && (
        <dl class="facts">
          <dt>Username</dt>
          <dd>{me.data.user.username}</dd>
          <dt>Role</dt>
          <dd data-testid="account-role">{me.data.user.role}</dd>
          <dt>Teams</dt>
          <dd data-testid="account-teams">{me.data.teams.length ? me.data.teams.join(", ") : "none"}</dd>
        </dl>
      )}
      <PasswordForm />
      <Tokens />
    </main>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [note, setNote] = useState<{ text: string; ok: boolean } | null>(null);
  const { busy, run } = useChange();

  return (
    <form
      class="box"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        if (next.length < MIN_PASSWORD)
          return setNote({ text: `The new password needs at least ${MIN_PASSWORD} characters.`, ok: false });
        if (next !== again) return setNote({ text: "The two new passwords differ.", ok: false });
        setNote(null);
        const done = await run(() =>
          api("POST", "/auth/password", { current_password: current, new_password: next }),
        );
        if (!done) return;
        setCurrent("");
        setNext("");
        setAgain("");
        setNote({ text: "Password changed. Your other sessions were ended: log in there again.", ok: true });
      }}
    >
      <h2>Change password</h2>
      <div class="form-row">
        <TextField
          label="Current password"
          type="password"
          name="current_password"
          autocomplete="current-password"
          value={current}
          onValue={setCurrent}
        />
        <TextField
          label="New password"
          type="password"
          name="new_password"
          autocomplete="new-password"
          value={next}
          onValue={setNext}
        />
        <TextField
          label="New password again"
          type="password"
          name="new_password_again"
          autocomplete="new-password"
          value={again}
          onValue={setAgain}
        />
        <button type="submit" class="primary" disabled={busy}>
          Change password
        </button>
      </div>
      {note && (
        <p class={note.ok ? "note" : "alert"} role={note.ok ? "status" : "alert"}>
          {note.text}
        </p>
      )}
    </form>
  );
}

function Tokens() {
  const tokens = useFetched<ApiToken[]>("/tokens");
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const { busy, run } = useChange();

  return (
    <section class="box">
      <h2>API tokens</h2>
      <p class="muted">
        A token acts as you (or read-only) from scripts: send it as <code>Authorization: Bearer …</code>.
      </p>
      <NewToken onCreated={tokens.reload} />
      {tokens.error && (
        <p class="alert" role="alert">
          {tokens.error}
        </p>
      )}
      {tokens.data?.length === 0 && <p class="muted">No tokens yet.</p>}
      {tokens.data && tokens.data.length > 0 && (
        <table class="list labelled">
          <TableHead columns={["Name", "Scope", "Environments", "Created", "Expires", "Last used"]} actions />
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.id} data-testid="token-row" data-name={t.name}>
                <td class="a-name">{t.name}</td>
                <td data-label="Scope">{t.scope === "read" ? "read-only" : "full"}</td>
                <td data-label="Environments">{t.envs ? t.envs.join(", ") : "all"}</td>
                <td data-label="Created">{dateTime(t.created_at)}</td>
                <td data-label="Expires">{dateTime(t.expires_at)}</td>
                <td data-label="Last used">{dateTime(t.last_used_at)}</td>
                <td class="a-actions">
                  <button type="button" class="danger-text" disabled={busy} onClick={() => setRevoking(t)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke the token ${revoking.name}?`}
          confirmLabel="Revoke"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={async () => {
            const { id } = revoking;
            setRevoking(null);
            if (await run(() => api("DELETE", `/tokens/${id}`))) tokens.reload();
          }}
        >
          <p>Scripts using it stop working at once.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function NewToken({ onCreated }: { onCreated: () => void }) {
  const envs = useFetched<EnvironmentView[]>("/envs");
  const [name, setName] = useState("");
  const [scope, setScope] = useState<"full" | "read">("full");
  const [days, setDays] = useState("");
  const [only, setOnly] = useState<string[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const { busy, run } = useChange();

  return (
    <form
      class="token-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const body = {
          name: name.trim(),
          scope,
          ...(days ? { expires_in_days: Number(days) } : {}),
          ...(only.length ? { envs: only } : {}),
        };
        let token = "";
        const done = await run(async () => {
          ({ token } = await api<{ token: string }>("POST", "/tokens", body));
        });
        if (!done) return;
        setCreated(token);
        setName("");
        setOnly([]);
        onCreated();
      }}
    >
      <div class="form-row">
        <TextField label="Name" name="token_name" required maxLength={100} value={name} onValue={setName} />
        <label class="field">
          Scope
          <select
            name="scope"
            value={scope}
            onChange={(e) => setScope(e.currentTarget.value as "full" | "read")}
          >
            <option value="full">Full (as you)</option>
            <option value="read">Read-only</option>
          </select>
        </label>
        <TextField
          label="Expires in days"
          name="expires_in_days"
          type="number"
          min={1}
          max={3650}
          placeholder="never"
          value={days}
          onValue={setDays}
        />
        <button type="submit" class="primary" disabled={busy}>
          Create token
        </button>
      </div>
      {envs.data && envs.data.length > 1 && (
        <fieldset class="choices">
          <legend>Only these environments (none ticked: all of them)</legend>
          {envs.data.map((env) => (
            <label class="check" key={env.id}>
              <input
                type="checkbox"
                checked={only.includes(env.id)}
                onChange={(e) =>
                  setOnly(e.currentTarget.checked ? [...only, env.id] : only.filter((id) => id !== env.id))
                }
              />
              {env.name}
            </label>
          ))}
        </fieldset>
      )}
      {created && <NewTokenValue token={created} onDone={() => setCreated(null)} />}
    </form>
  );
}

function NewTokenValue({ token, onDone }: { token: string; onDone: () => void }) {
  return (
    <OnceValue label="New token" value={token} testId="new-token" onDone={onDone}>
      Copy the new token now: you will not see it again.
    </OnceValue>
  );
}
