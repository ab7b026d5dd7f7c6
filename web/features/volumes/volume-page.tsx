import { useContext, useEffect, useState } from "preact/hooks";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref, navigate } from "../../app/route.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { ReportError } from "../../lib/report.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { backupUrl, download, removeVolume, volumePath } from "./api.ts";
import { FileBrowser } from "./file-browser.tsx";
import { RestoreUpload } from "./restore-upload.tsx";
import { usersText } from "./text.ts";
import { sizeOf, useLiveVolumes, useSizes } from "./volumes-page.tsx";

type Tab = "files" | "inspect";

export function VolumePage({ name }: { name: string }) {
  const env = useEnv().id;
  const role = useUser().role;
  const report = useContext(ReportError);
  const live = useLiveVolumes();
  const { sizes } = useSizes(env);
  const mayFiles = role !== "viewer";
  const [tab, setTab] = useState<Tab>(mayFiles ? "files" : "inspect");
  const [removing, setRemoving] = useState(false);
  const [restoring, setRestoring] = useState(false);
  const v = live.list?.find((x) => x.name === name);
  const list = envHref({ page: "volumes", env });

  useEffect(() => {
    document.title = `${name} · GhostPanel`;
    return () => {
      document.title = "GhostPanel";
    };
  }, [name]);

  const back = (
    <a class="back" href={list}>
      ← Volumes
    </a>
  );
  if (!v)
    return (
      <main class="page">
        {back}
        {live.error ? (
          <p class="alert" role="alert">
            {live.error}
          </p>
        ) : (
          <p class="muted">{live.list ? `No volume “${name}”: it may have been removed.` : "Loading…"}</p>
        )}
      </main>
    );

  const users = usersText(v);
  const remove = async () => {
    setRemoving(false);
    try {
      await removeVolume(env, v.name);
      navigate(list);
    } catch (err) {
      report(err);
    }
  };
  return (
    <main class="page detail">
      {back}
      <header class="detail-head">
        <h1 data-testid="volume-name">{v.name}</h1>
        <span class="muted">{v.driver}</span>
        {mayFiles && (
          <div class="actions">
            <button type="button" data-testid="backup" onClick={() => download(backupUrl(env, v.name))}>
              Back up (.tar.gz)
            </button>
            <button type="button" data-testid="restore" onClick={() => setRestoring(true)}>
              Restore…
            </button>
            <button
              type="button"
              class="danger-text"
              data-testid="remove-volume"
              onClick={() => setRemoving(true)}
            >
              Remove
            </button>
          </div>
        )}
      </header>
      <dl class="facts">
        <dt>Used by</dt>
        <dd data-testid="volume-users">{users || "no container"}</dd>
        <dt>Size</dt>
        <dd>{sizeOf(sizes, v.name)}</dd>
        <dt>Mount point</dt>
        <dd class="mono">{v.mountpoint || "—"}</dd>
        <dt>Created</dt>
        <dd>{v.created ? new Date(v.created).toLocaleString() : "—"}</dd>
        {Object.keys(v.labels).length > 0 && (
          <>
            <dt>Labels</dt>
            <dd class="mono">
              {Object.entries(v.labels)
                .map(([k, val]) => `${k}=${val}`)
                .join("  ")}
            </dd>
          </>
        )}
        {Object.keys(v.options).length > 0 && (
          <>
            <dt>Options</dt>
            <dd class="mono">
              {Object.entries(v.options)
                .map(([k, val]) => `${k}=${val}`)
                .join("  ")}
            </dd>
          </>
        )}
      </dl>
      <div class="tabs" role="tablist">
        {(mayFiles ? (["files", "inspect"] as const) : (["inspect"] as const)).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            data-tab={t}
            aria-selected={t === tab}
            onClick={() => setTab(t)}
          >
            {t === "files" ? "Files" : "Inspect"}
          </button>
        ))}
      </div>
      {tab === "files" && mayFiles && (
        <section role="tabpanel">
          <FileBrowser volume={v.name} />
        </section>
      )}
      {tab === "inspect" && (
        <section role="tabpanel">
          <VolumeInspect name={v.name} />
        </section>
      )}
      {removing && (
        <ConfirmDialog
          title={`Remove volume ${v.name}?`}
          confirmLabel="Remove"
          danger
          onConfirm={() => void remove()}
          onCancel={() => setRemoving(false)}
        >
          <p>
            Every file in <strong>{v.name}</strong>
            {sizeOf(sizes, v.name) !== "—" ? ` (${sizeOf(sizes, v.name)})` : ""} is lost for good.
            {users ? ` It is used by ${users}: the engine refuses while they exist.` : ""}
          </p>
        </ConfirmDialog>
      )}
      {restoring && <RestoreUpload volume={v} onClose={() => setRestoring(false)} />}
    </main>
  );
}

function VolumeInspect({ name }: { name: string }) {
  const env = useEnv().id;
  const [json, setJson] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<unknown>("GET", volumePath(env, name)).then(
      (data) => live && setJson(JSON.stringify(data, null, 2)),
      (err) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [env, name]);
  if (error)
    return (
      <p role="alert" class="alert">
        {error}
      </p>
    );
  if (json === null) return <p class="muted">Loading…</p>;
  return (
    <pre class="inspect" data-testid="inspect">
      {json}
    </pre>
  );
}
