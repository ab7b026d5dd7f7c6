import { useState } from "preact/hooks";
import type { EnvironmentView } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";
import { useChange, useFetched } from "../../lib/fetched.ts";
import type { EnvRole, Team, TeamResource, UserEntry } from "../../lib/types.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TextField } from "../../ui/text-field.tsx";

export function TeamsPage() {
  const teams = useFetched<Team[]>("/teams");
  const users = useFetched<UserEntry[]>("/users");
  const envs = useFetched<EnvironmentView[]>("/envs");
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Team | null>(null);
  const { busy, run } = useChange();
  const userName = (id: number) => users.data?.find((u) => u.id === id)?.username ?? `#${id}`;
  const error = teams.error ?? users.error ?? envs.error;

  return (
    <main class="page access">
      <h1>Teams</h1>
      <p class="muted">
        Containers labelled <code>ghostpanel.team=&lt;name&gt;</code> belong to that team on every engine;
        whole environments, containers by name and Vesla apps (every container labelled{" "}
        <code>vesla.app=&lt;name&gt;</code>, across redeploys) can be assigned here too.
      </p>
      <NewTeam onCreated={teams.reload} />
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {teams.data?.length === 0 && <p class="empty muted">No teams yet.</p>}
      {teams.data && users.data && envs.data && (
        <ul class="teams">
          {teams.data.map((t) =>
            editing === t.id ? (
              <li key={t.id} class="box" data-testid="team" data-name={t.name}>
                <TeamEditor
                  team={t}
                  users={users.data!}
                  envs={envs.data!}
                  onDone={(saved) => {
                    setEditing(null);
                    if (saved) {
                      teams.reload();
                      // The users' team lists changed with it.
                      users.reload();
                    }
                  }}
                />
              </li>
            ) : (
              <li key={t.id} class="box" data-testid="team" data-name={t.name}>
                <div class="box-head">
                  <h2>{t.name}</h2>
                  <div class="actions">
                    <button type="button" data-action="edit" disabled={busy} onClick={() => setEditing(t.id)}>
                      Edit
                    </button>
                    <button
                      type="button"
                      class="danger-text"
                      data-action="delete"
                      disabled={busy}
                      onClick={() => setDeleting(t)}
                    >
                      Delete
                    </button>
                  </div>
                </div>
                <dl class="facts">
                  <dt>Members</dt>
                  <dd data-testid="team-members">
                    {t.members.length ? t.members.map(userName).join(", ") : "none"}
                  </dd>
                  <dt>Assigned</dt>
                  <dd>{t.resources.length ? t.resources.map(resourceLabel).join(", ") : "nothing"}</dd>
                </dl>
              </li>
            ),
          )}
        </ul>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete the team ${deleting.name}?`}
          confirmLabel="Delete"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            const { id } = deleting;
            setDeleting(null);
            if (await run(() => api("DELETE", `/teams/${id}`))) teams.reload();
          }}
        >
          <p>Its containers stay, but their label no longer gives anyone access.</p>
        </ConfirmDialog>
      )}
    </main>
  );
}

function resourceLabel(r: TeamResource): string {
  if (r.kind === "env") return `environment ${r.env}${r.role ? ` (${r.role})` : ""}`;
  return `${r.kind === "app" ? "app " : ""}${r.ref} on ${r.env}`;
}

function NewTeam({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const { busy, run } = useChange();
  return (
    <form
      class="box"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!(await run(() => api("POST", "/teams", { name: name.trim() })))) return;
        setName("");
        onCreated();
      }}
    >
      <div class="form-row">
        <TextField
          label="New team"
          name="team_name"
          required
          pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
          title="letters, digits, _ . - (starting with a letter or digit)"
          value={name}
          onValue={setName}
        />
        <button type="submit" class="primary" disabled={busy}>
          Create team
        </button>
      </div>
    </form>
  );
}

interface EditorProps {
  team: Team;
  users: UserEntry[];
  envs: EnvironmentView[];
  onDone: (saved: boolean) => void;
}

function TeamEditor({ team, users, envs, onDone }: EditorProps) {
  const [members, setMembers] = useState(team.members);
  const [wholeEnvs, setWholeEnvs] = useState(team.resources.filter((r) => r.kind === "env"));
  const [containers, setContainers] = useState(team.resources.filter((r) => r.kind === "container"));
  const [apps, setApps] = useState(team.resources.filter((r) => r.kind === "app"));
  const { busy, run } = useChange();

  const toggle = <T,>(list: T[], item: T, on: boolean) =>
    on ? [...list, item] : list.filter((x) => x !== item);

  return (
    <form
      class="team-editor"
      onSubmit={async (e) => {
        e.preventDefault();
        const resources = [...wholeEnvs, ...containers, ...apps];
        if (await run(() => api("PUT", `/teams/${team.id}`, { members, resources }))) onDone(true);
      }}
    >
      <h2>{team.name}</h2>
      <fieldset class="choices">
        <legend>Members</legend>
        {users.map((u) => (
          <label class="check" key={u.id}>
            <input
              type="checkbox"
              name="member"
              value={u.username}
              checked={members.includes(u.id)}
              onChange={(e) => setMembers(toggle(members, u.id, e.currentTarget.checked))}
            />
            {u.username} <span class="muted">({u.role})</span>
          </label>
        ))}
      </fieldset>
      <fieldset class="choices">
        <legend>Whole environments (only this team's members, and admins, then see them)</legend>
        {envs.map((e) => {
          const given = wholeEnvs.find((r) => r.env === e.id);
          const set = (on: boolean, role: string) =>
            setWholeEnvs([
              ...wholeEnvs.filter((r) => r.env !== e.id),
              ...(on
                ? [{ env: e.id, kind: "env" as const, ref: "", ...(role ? { role: role as EnvRole } : {}) }]
                : []),
            ]);
          return (
            <div class="check" key={e.id}>
              <label>
                <input
                  type="checkbox"
                  name="env"
                  value={e.id}
                  checked={given !== undefined}
                  onChange={(ev) => set(ev.currentTarget.checked, given?.role ?? "")}
                />
                {e.name}
              </label>
              {given && (
                <select
                  name="env_role"
                  data-env={e.id}
                  aria-label={`Role on ${e.name}`}
                  value={given.role ?? ""}
                  onChange={(ev) => set(true, ev.currentTarget.value)}
                >
                  <option value="">each member's own role</option>
                  <option value="viewer">viewer</option>
                  <option value="operator">operator</option>
                </select>
              )}
            </div>
          );
        })}
      </fieldset>
      <ByName
        kind="container"
        legend="Containers by name"
        envs={envs}
        items={containers}
        onItems={setContainers}
      />
      <ByName kind="app" legend="Vesla apps by name" envs={envs} items={apps} onItems={setApps} />
      <div class="dialog-buttons">
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
        <button type="submit" class="primary" data-action="save" disabled={busy}>
          Save
        </button>
      </div>
    </form>
  );
}

interface ByNameProps {
  kind: "container" | "app";
  legend: string;
  envs: EnvironmentView[];
  items: TeamResource[];
  onItems: (items: TeamResource[]) => void;
}

/** Resources a team owns by name on one engine: containers, or Vesla apps. */
function ByName({ kind, legend, envs, items, onItems }: ByNameProps) {
  const [env, setEnv] = useState(envs[0]?.id ?? "");
  const [name, setName] = useState("");
  const add = () => {
    const ref = name.trim();
    if (!ref || !env || items.some((c) => c.env === env && c.ref === ref)) return;
    onItems([...items, { env, kind, ref }]);
    setName("");
  };
  return (
    <fieldset class="choices">
      <legend>{legend}</legend>
      {items.length > 0 && (
        <ul class="chips">
          {items.map((c) => (
            <li key={`${c.env}/${c.ref}`}>
              {resourceLabel(c)}
              <button
                type="button"
                class="quiet"
                aria-label={`Remove ${c.ref}`}
                onClick={() => onItems(items.filter((x) => x !== c))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="form-row">
        {envs.length > 1 && (
          <select aria-label="Environment" value={env} onChange={(e) => setEnv(e.currentTarget.value)}>
            {envs.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        )}
        <input
          name={`${kind}_name`}
          aria-label={kind === "app" ? "App name" : "Container name"}
          placeholder={`${kind} name`}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          // Enter adds the name rather than saving the whole form half-done.
          onKeyDown={(e) => {
            if (e.key !== "Enter") return;
            e.preventDefault();
            add();
          }}
        />
        <button type="button" onClick={add}>
          Add
        </button>
      </div>
    </fieldset>
  );
}
