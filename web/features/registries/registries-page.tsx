/** Registries: an admin's page to add them with their login, test it, and browse what they hold. */

import "../access/access.css";
import { useState } from "preact/hooks";
import { useUser } from "../../app/contexts.ts";
import { api } from "../../lib/api.ts";
import { useChange, useFetched } from "../../lib/fetched.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TextField } from "../../ui/text-field.tsx";

export interface RegistryEntry {
  id: number;
  name: string;
  url: string;
  host: string;
  username?: string;
  has_password?: boolean;
}

interface Login {
  name: string;
  url: string;
  username: string;
  password: string;
}

const EMPTY: Login = { name: "", url: "", username: "", password: "" };

export function RegistriesPage() {
  const user = useUser();
  const registries = useFetched<RegistryEntry[]>("/registries");
  const [deleting, setDeleting] = useState<RegistryEntry | null>(null);
  const [browsing, setBrowsing] = useState<number | null>(null);
  const [tested, setTested] = useState<{ id: number; text: string } | null>(null);
  const { busy, run } = useChange();
  const admin = user.role === "admin";

  return (
    <main class="page access">
      <h1>Registries</h1>
      <p class="muted">
        Where images come from. Pulls, pushes and update checks use a registry's login without asking again;
        the password is stored encrypted and never shown. Addresses are https://, or http:// on this machine
        only.
      </p>
      {admin && <NewRegistry onAdded={registries.reload} />}
      {registries.error && (
        <p class="alert" role="alert">
          {registries.error}
        </p>
      )}
      {registries.data?.length === 0 && <p class="empty muted">No registries yet.</p>}
      <ul class="teams">
        {registries.data?.map((r) => (
          <li key={r.id} class="box" data-testid="registry" data-name={r.name}>
            <div class="box-head">
              <h2>{r.name}</h2>
              <div class="actions">
                {admin && (
                  <button
                    type="button"
                    data-action="test"
                    disabled={busy}
                    onClick={() =>
                      run(async () => {
                        setTested(null);
                        const answer = await api<{ message: string }>("POST", `/registries/${r.id}/test`);
                        setTested({ id: r.id, text: answer.message });
                      })
                    }
                  >
                    Test login
                  </button>
                )}
                <button
                  type="button"
                  data-action="browse"
                  onClick={() => setBrowsing(browsing === r.id ? null : r.id)}
                >
                  {browsing === r.id ? "Close" : "Browse"}
                </button>
                {admin && (
                  <button
                    type="button"
                    class="danger-text"
                    data-action="delete"
                    disabled={busy}
                    onClick={() => setDeleting(r)}
                  >
                    Remove
                  </button>
                )}
              </div>
            </div>
            <dl class="facts">
              <dt>Address</dt>
              <dd>{r.url}</dd>
              <dt>Images named</dt>
              <dd class="mono">{r.host}/…</dd>
              {admin && (
                <>
                  <dt>Login</dt>
                  <dd data-testid="registry-login">
                    {r.username ? `${r.username}${r.has_password ? " (password stored)" : ""}` : "none"}
                  </dd>
                </>
              )}
            </dl>
            {tested?.id === r.id && (
              <p class="muted" role="status" data-testid="test-result">
                {tested.text}
              </p>
            )}
            {browsing === r.id && <Browser id={r.id} />}
          </li>
        ))}
      </ul>
      {deleting && (
        <ConfirmDialog
          title={`Remove the registry ${deleting.name}?`}
          confirmLabel="Remove"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            const { id } = deleting;
            setDeleting(null);
            if (await run(() => api("DELETE", `/registries/${id}`))) registries.reload();
          }}
        >
          <p>
            Its stored login is deleted with it: pulls from it and update checks of its images go without it.
          </p>
        </ConfirmDialog>
      )}
    </main>
  );
}

function NewRegistry({ onAdded }: { onAdded: () => void }) {
  const [form, setForm] = useState<Login>(EMPTY);
  const [said, setSaid] = useState<string | null>(null);
  const { busy, run } = useChange();
  const field = (key: keyof Login) => (value: string) => setForm({ ...form, [key]: value });
  const login = () => ({
    url: form.url.trim(),
    ...(form.username ? { username: form.username.trim(), password: form.password } : {}),
  });
  return (
    <form
      class="box"
      data-testid="new-registry"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaid(null);
        if (!(await run(() => api("POST", "/registries", { name: form.name.trim(), ...login() })))) return;
        setForm(EMPTY);
        onAdded();
      }}
    >
      <div class="form-row">
        <TextField
          label="Name"
          name="name"
          required
          maxLength={64}
          value={form.name}
          onValue={field("name")}
        />
        <TextField
          label="Address"
          name="url"
          required
          placeholder="https://registry.example.com"
          value={form.url}
          onValue={field("url")}
        />
        <TextField
          label="Username"
          name="username"
          autocomplete="off"
          value={form.username}
          onValue={field("username")}
        />
        <TextField
          label="Password or access token"
          name="password"
          type="password"
          autocomplete="new-password"
          value={form.password}
          onValue={field("password")}
        />
      </div>
      <div class="actions">
        <button
          type="button"
          data-action="test-new"
          disabled={busy || !form.url}
          onClick={() =>
            run(async () => {
              setSaid(null);
              const answer = await api<{ message: string }>("POST", "/registries/test", login());
              setSaid(answer.message);
            })
          }
        >
          Test login
        </button>
        <button type="submit" class="primary" disabled={busy}>
          Add registry
        </button>
        {said && (
          <span class="muted" role="status" data-testid="test-result">
            {said}
          </span>
        )}
      </div>
    </form>
  );
}

const PAGE = 50;

/** The registry's repositories, a page at a time, and the tags of the one picked. */
function Browser({ id }: { id: number }) {
  const [pages, setPages] = useState<string[]>([""]);
  const last = pages[pages.length - 1];
  const repos = useFetched<{ repositories: string[]; next: string | null }>(
    `/registries/${id}/repositories?n=${PAGE}${last ? `&last=${encodeURIComponent(last)}` : ""}`,
  );
  const [repo, setRepo] = useState<string | null>(null);
  return (
    <div class="browser" data-testid="registry-browser">
      {repos.error && (
        <p class="alert" role="alert">
          {repos.error}
        </p>
      )}
      {repos.data && repos.data.repositories.length === 0 && <p class="muted">No repositories.</p>}
      <ul class="repositories">
        {repos.data?.repositories.map((name) => (
          <li key={name} data-testid="repository" data-name={name}>
            <button type="button" class="link" onClick={() => setRepo(repo === name ? null : name)}>
              {name}
            </button>
            {repo === name && <Tags id={id} repository={name} />}
          </li>
        ))}
      </ul>
      <div class="actions">
        {pages.length > 1 && (
          <button type="button" onClick={() => setPages(pages.slice(0, -1))}>
            Previous
          </button>
        )}
        {repos.data?.next && (
          <button type="button" onClick={() => setPages([...pages, repos.data!.next!])}>
            Next
          </button>
        )}
      </div>
    </div>
  );
}

function Tags({ id, repository }: { id: number; repository: string }) {
  const tags = useFetched<{ tags: string[] }>(
    `/registries/${id}/tags?repository=${encodeURIComponent(repository)}&n=1000`,
  );
  if (tags.error)
    return (
      <p class="alert" role="alert">
        {tags.error}
      </p>
    );
  if (!tags.data) return <p class="muted">Loading…</p>;
  return (
    <p class="mono" data-testid="tags">
      {tags.data.tags.length ? tags.data.tags.join(", ") : "no tags"}
    </p>
  );
}
