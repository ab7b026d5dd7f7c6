import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.ts";
import { useChange, useFetched } from "../../lib/fetched.ts";
import type { SecuritySettings } from "../../lib/types.ts";

type Toggle = Exclude<keyof SecuritySettings, "allowed_bind_paths">;

const TOGGLES: { key: Toggle; label: string; hint: string }[] = [
  {
    key: "allow_privileged",
    label: "Privileged containers",
    hint: "full access to the host's devices and kernel",
  },
  {
    key: "allow_host_namespaces",
    label: "Host network, PID and IPC namespaces",
    hint: "sees and reaches the host's processes and ports",
  },
  { key: "allow_devices", label: "Device mappings", hint: "host devices passed into containers" },
  { key: "allow_capabilities", label: "Added capabilities", hint: "cap_add beyond the engine's defaults" },
];

export function SecurityPage() {
  const stored = useFetched<SecuritySettings>("/settings/security");
  const [draft, setDraft] = useState<SecuritySettings | null>(null);
  const [path, setPath] = useState("");
  const [saved, setSaved] = useState(false);
  const { busy, run } = useChange();
  useEffect(() => setDraft(stored.data), [stored.data]);

  const change = (next: SecuritySettings) => {
    setDraft(next);
    setSaved(false);
  };
  const addPath = () => {
    const prefix = path.trim();
    if (!draft || !prefix || draft.allowed_bind_paths.includes(prefix)) return;
    change({ ...draft, allowed_bind_paths: [...draft.allowed_bind_paths, prefix] });
    setPath("");
  };

  return (
    <main class="page access">
      <h1>Security</h1>
      <p class="muted">What users other than admins may create or run. Admins are never restricted.</p>
      {stored.error && (
        <p class="alert" role="alert" data-testid="security-error">
          {stored.error}
        </p>
      )}
      {draft && (
        <form
          class="box"
          onSubmit={async (e) => {
            e.preventDefault();
            let answer = draft;
            const done = await run(async () => {
              answer = await api<SecuritySettings>("PUT", "/settings/security", draft);
            });
            if (!done) return;
            setDraft(answer);
            setSaved(true);
          }}
        >
          <fieldset class="choices">
            <legend>Allow non-admins</legend>
            {TOGGLES.map((t) => (
              <label class="check" key={t.key}>
                <input
                  type="checkbox"
                  name={t.key}
                  checked={draft[t.key]}
                  onChange={(e) => change({ ...draft, [t.key]: e.currentTarget.checked })}
                />
                <span>
                  {t.label} <span class="muted">— {t.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <fieldset class="choices">
            <legend>Host paths non-admins may bind</legend>
            <p class="muted">
              Each path exactly, not what is below it: a container could swap a sub-directory for a link to /
              before the engine mounts it. A path must exist, contain no symlink, and every directory above it
              must be root's and writable by no one else.
            </p>
            {draft.allowed_bind_paths.length === 0 ? (
              <p class="muted">None: non-admins cannot bind-mount host paths.</p>
            ) : (
              <ul class="chips">
                {draft.allowed_bind_paths.map((p) => (
                  <li key={p} class="mono">
                    {p}
                    <button
                      type="button"
                      class="quiet"
                      aria-label={`Remove ${p}`}
                      onClick={() =>
                        change({
                          ...draft,
                          allowed_bind_paths: draft.allowed_bind_paths.filter((x) => x !== p),
                        })
                      }
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <div class="form-row">
              <input
                name="bind_path"
                aria-label="Host path"
                placeholder="/srv/data"
                value={path}
                onInput={(e) => setPath(e.currentTarget.value)}
                // Enter adds the path rather than saving the settings.
                onKeyDown={(e) => {
                  if (e.key !== "Enter") return;
                  e.preventDefault();
                  addPath();
                }}
              />
              <button type="button" onClick={addPath}>
                Add
              </button>
            </div>
          </fieldset>
          <div class="form-row">
            <button type="submit" class="primary" disabled={busy}>
              Save
            </button>
            {saved && (
              <span class="note" role="status">
                Saved.
              </span>
            )}
          </div>
        </form>
      )}
    </main>
  );
}
