import { useState } from "preact/hooks";
import type { VolumeItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { errorMessage } from "../../lib/api.ts";
import { formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { type Restored, uploadRestore } from "./restore.ts";
import { usersText } from "./text.ts";

type State =
  | { step: "choose" }
  | { step: "sending"; sent: number; total: number }
  | { step: "done"; result: Restored }
  | { step: "failed"; error: string };

/** Restore a backup into this volume: what it overwrites is said first, then the upload shows its progress. */
export function RestoreUpload({ volume, onClose }: { volume: VolumeItem; onClose: () => void }) {
  const env = useEnv().id;
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const [state, setState] = useState<State>({ step: "choose" });
  const start = async () => {
    if (!file) return;
    setState({ step: "sending", sent: 0, total: file.size });
    try {
      const result = await uploadRestore(env, volume.name, file, { create: false, replace }, (sent, total) =>
        setState({ step: "sending", sent, total }),
      );
      setState({ step: "done", result });
    } catch (err) {
      setState({ step: "failed", error: errorMessage(err) });
    }
  };
  const users = usersText(volume);
  if (state.step !== "choose")
    return (
      <ConfirmDialog
        title={`Restore into ${volume.name}`}
        confirmLabel="Close"
        onConfirm={onClose}
        onCancel={onClose}
      >
        {state.step === "sending" && (
          <>
            <progress data-testid="restore-progress" max={state.total || 1} value={state.sent} />
            <p class="muted">
              {state.sent < state.total
                ? `Uploading ${formatBytes(state.sent)} of ${formatBytes(state.total)}…`
                : "Uploaded; the panel is reading the volume back to compare it…"}
            </p>
          </>
        )}
        {state.step === "done" && (
          <p data-testid="restore-done" role="status">
            Restored and verified: {state.result.files} files, {state.result.directories} folders,{" "}
            {state.result.symlinks} symlinks ({formatBytes(state.result.bytes)}), each read back equal to the
            upload.
          </p>
        )}
        {state.step === "failed" && (
          <p class="alert" role="alert" data-testid="restore-error">
            {state.error}
          </p>
        )}
      </ConfirmDialog>
    );
  return (
    <ConfirmDialog
      title={`Restore into ${volume.name}`}
      confirmLabel="Restore"
      danger
      onConfirm={() => void start()}
      onCancel={onClose}
    >
      <label class="field">
        Backup (.tar.gz or .tar)
        <input
          type="file"
          name="backup"
          data-testid="restore-file"
          accept=".gz,.tgz,.tar,application/gzip,application/x-tar"
          required
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <label class="check">
        <input
          type="checkbox"
          name="replace"
          checked={replace}
          onChange={(e) => setReplace(e.currentTarget.checked)}
        />
        Empty the volume first (everything now in it is lost)
      </label>
      <p>
        {replace
          ? `Every file now in ${volume.name} is deleted, then the backup is written.`
          : `Files in ${volume.name} with the same names as in the backup are overwritten; the rest stay.`}
        {users ? ` Used by ${users}: running containers must be stopped first.` : ""}
      </p>
    </ConfirmDialog>
  );
}
