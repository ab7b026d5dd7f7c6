import { useContext, useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { ReportError } from "../../lib/report.ts";
import { formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { type PrunePreview, prune, prunePreview } from "./api.ts";

/** Admins: remove every unused volume, after a list of exactly what goes. */
export function PruneVolumes() {
  const env = useEnv().id;
  const report = useContext(ReportError);
  const [preview, setPreview] = useState<PrunePreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const ask = async () => {
    setBusy(true);
    setDone(null);
    try {
      setPreview(await prunePreview(env));
    } catch (err) {
      report(err);
    } finally {
      setBusy(false);
    }
  };
  const confirm = async () => {
    setPreview(null);
    setBusy(true);
    try {
      const r = await prune(env);
      setDone(`Removed ${r.deleted.length} volume(s), ${formatBytes(r.space_reclaimed)} freed.`);
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
        class="danger-text"
        disabled={busy}
        aria-busy={busy}
        data-testid="prune-volumes"
        onClick={() => void ask()}
      >
        Prune unused
      </button>
      {done && (
        <span class="muted" role="status">
          {done}
        </span>
      )}
      {preview && (
        <ConfirmDialog
          title={
            preview.volumes.length ? `Remove ${preview.volumes.length} unused volume(s)?` : "Nothing to prune"
          }
          confirmLabel="Remove them"
          danger
          onConfirm={() => void confirm()}
          onCancel={() => setPreview(null)}
        >
          {preview.volumes.length === 0 ? (
            <p>No volume is unused: nothing would be removed.</p>
          ) : (
            <>
              <p>
                Every file in these volumes is lost for good
                {preview.size !== null ? ` (${formatBytes(preview.size)} as last measured)` : ""}:
              </p>
              <ul data-testid="prune-list">
                {preview.volumes.map((v) => (
                  <li key={v.id}>{v.name}</li>
                ))}
              </ul>
            </>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
