import { useState } from "preact/hooks";
import { api } from "../../lib/api.ts";
import { dateTime, useChange, useFetched } from "../../lib/fetched.ts";
import type { Role, User, UserEntry } from "../../lib/types.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TableHead } from "../../ui/table-head.tsx";
import { TextField } from "../../ui/text-field.tsx";

const ROLES: { role: Role; label: string }[] = [
  { role: "viewer", label: "Viewer (reads)" },
  { role: "operator", label: "Operator (acts on containers)" },
  { role: "admin", label: "Admin (everything, users too)" },
];

type Asking =
  | { what: "role"; user: UserEntry; role: Role }
  | { what: "password"; user: UserEntry }
  | { what: "delete"; user: UserEntry };

export function UsersPage({ me }: { me: User }) {
  const users = useFetched<UserEntry[]>("/users");
  const [asking, setAsking] = useState<Asking | null>(null);
  const [password, setPassword] = useState("");
  const { busy, run } = useChange();

  const answer = async () => {
    if (!asking) return;
    const { id } = asking.user;
    setAsking(null);
    const done = await run(() =>
      asking.what === "delete"
        ? api("DELETE", `/users/${id}`)
        : api("PUT", `/users/${id}`, asking.what === "role" ? { role: asking.role } : { password }),
    );
    // Reloaded after a refusal too: the role picker goes back to what the server holds.
    if (done || asking.what === "role") users.reload();
  };

  return (
    <main class="page access">
      <h1>Users</h1>
      <NewUser onCreated={users.reload} />
      {users.error && (
        <p class="alert" role="alert">
          {users.error}
        </p>
      )}
      {users.data && (
        <table class="list labelled">
          <TableHead columns={["Username", "Role", "Teams", "Created"]} actions />
          <tbody>
            {users.data.map((u) => (
              <tr key={u.id} data-testid="user-row" data-name={u.username}>
                <td class="a-name">
                  {u.username}
                  {u.id === me.id && <span class="muted"> (you)</span>}
                </td>
                <td data-label="Role">
                  <select
                    aria-label={`Role of ${u.username}`}
                    value={u.role}
                    disabled={busy}
                    onChange={(e) => {
                      const role = e.currentTarget.value as Role;
                      // Back to the stored role until the change is confirmed.
                      e.currentTarget.value = u.role;
                      setAsking({ what: "role", user: u, role });
                    }}
                  >
                    {ROLES.map((r) => (
                      <option key={r.role} value={r.role}>
                        {r.role}
                      </option>
                    ))}
                  </select>
                </td>
                <td data-label="Teams">
                  {u.teams.length ? u.teams.join(", ") : <span class="muted">none</span>}
                </td>
                <td data-label="Created">{dateTime(u.created_at)}</td>
                <td class="a-actions">
                  <div class="actions">
                    <button
                      type="button"
                      disabled={busy}
                      onClick={() => {
                        setPassword("");
                        setAsking({ what: "password", user: u });
                      }}
                    >
                      Set password
                    </button>
                    <button
                      type="button"
                      class="danger-text"
                      data-action="delete"
                      disabled={busy}
                      onClick={() => setAsking({ what: "delete", user: u })}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asking?.what === "role" && (
        <ConfirmDialog
          title={`Make ${asking.user.username} ${asking.role}?`}
          confirmLabel="Change role"
          onCancel={() => setAsking(null)}
          onConfirm={answer}
        >
          <p>Their open sessions end: they log in again with the new role.</p>
        </ConfirmDialog>
      )}
      {asking?.what === "password" && (
        <ConfirmDialog
          title={`New password for ${asking.user.username}`}
          confirmLabel="Set password"
          onCancel={() => setAsking(null)}
          onConfirm={answer}
        >
          <TextField
            label="New password"
            type="password"
            name="new_password"
            autocomplete="new-password"
            required
            minLength={8}
            value={password}
            onValue={setPassword}
          />
          <p class="muted">Their open sessions end.</p>
        </ConfirmDialog>
      )}
      {asking?.what === "delete" && (
        <ConfirmDialog
          title={`Delete ${asking.user.username}?`}
          confirmLabel="Delete"
          danger
          onCancel={() => setAsking(null)}
          onConfirm={answer}
        >
          <p>Their sessions and API tokens go with them. Their containers stay.</p>
        </ConfirmDialog>
      )}
    </main>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const { busy, run } = useChange();
  return (
    <form
      class="box"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!(await run(() => api("POST", "/users", { username: username.trim(), password, role })))) return;
        setUsername("");
        setPassword("");
        onCreated();
      }}
    >
      <h2>New user</h2>
      <div class="form-row">
        <TextField
          label="Username"
          name="username"
          required
          pattern="[A-Za-z0-9_.\-]+"
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          value={username}
          onValue={setUsername}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          required
          minLength={8}
          autocomplete="new-password"
          value={password}
          onValue={setPassword}
        />
        <label class="field">
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Create user
        </button>
      </div>
    </form>
  );
}
