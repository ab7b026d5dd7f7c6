import { useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { useChange } from "../../lib/fetched.ts";
import { formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { type PrunePreview, previewPrune, prune, shortId } from "./image-api.ts";

/** Prune, after showing what goes and the space it frees: dangling images only, or every unused one. */
export function PruneButton() {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [all, setAll] = useState(false);
  const [preview, setPreview] = useState<PrunePreview | null>(null);
  const ask = (everyUnused: boolean) =>
    void run(async () => {
      setAll(everyUnused);
      setPreview(await previewPrune(env, everyUnused));
    });
  return (
    <>
      <button type="button" class="danger-text" data-testid="prune" disabled={busy} onClick={() => ask(all)}>
        Prune…
      </button>
      {preview && (
        <ConfirmDialog
          title={
            preview.images.length ? `Remove ${preview.images.length} unused images?` : "Nothing to prune"
          }
          confirmLabel={`Remove, freeing up to ${formatBytes(preview.space)}`}
          danger
          onConfirm={() => {
            setPreview(null);
            void run(() => prune(env, all));
          }}
          onCancel={() => setPreview(null)}
        >
          <label>
            <input type="checkbox" checked={all} onChange={(e) => ask(e.currentTarget.checked)} /> every image
            no container uses, not only dangling ones
          </label>
          <ul data-testid="prune-preview">
            {preview.images.map((i) => (
              <li key={i.id}>
                <span class="mono">{i.tags.length ? i.tags.join(", ") : shortId(i.id)}</span>{" "}
                <span class="muted">{formatBytes(i.size)}</span>
              </li>
            ))}
          </ul>
        </ConfirmDialog>
      )}
    </>
  );
}
