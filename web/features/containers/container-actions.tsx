import { useContext, useState } from "preact/hooks";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { ReportError } from "../../lib/report.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { type Action, actionsFor, can, LABELS, rename, runAction, WARNINGS } from "./actions.ts";

interface Props {
  container: ContainerItem;
  /** Offer renaming too (the detail page has room for it, list rows do not). */
  withRename?: boolean;
  onRemoved?: () => void;
}

type Asking = Action | "rename" | null;

export function ContainerActions({ container, withRename, onRemoved }: Props) {
  const { id: env, view } = useEnv();
  const caps = view?.capabilities;
  const report = useContext(ReportError);
  const [busy, setBusy] = useState<Asking>(null);
  const [asking, setAsking] = useState<Asking>(null);
  const [force, setForce] = useState(false);
  const [volumes, setVolumes] = useState(false);
  const [newName, setNewName] = useState("");
  // Viewers act on nothing: no button they would only be refused for.
  const viewer = useUser().role === "viewer";

  const perform = async (what: Action | "rename") => {
    setAsking(null);
    setBusy(what);
    try {
      if (what === "rename") await rename(env, container.id, newName.trim());
      else await runAction(env, container.id, what, { force, volumes });
      if (what === "remove") onRemoved?.();
    } catch (err) {
      report(err);
    } finally {
      setBusy(null);
    }
  };

  const ask = (what: Action | "rename") => {
    setForce(false);
    setVolumes(false);
    setNewName(container.name);
    if (what === "rename" || WARNINGS[what]) setAsking(what);
    else void perform(what);
  };

  const button = (what: Action | "rename", label: string) => (
    <button
      type="button"
      key={what}
      data-action={what}
      class={what === "remove" || what === "kill" ? "danger-text" : undefined}
      disabled={busy !== null}
      aria-busy={busy === what}
      onClick={() => ask(what)}
    >
      {label}
    </button>
  );

  if (viewer) return null;
  return (
    <div class="actions">
      {actionsFor(container.state, caps).map((a) => button(a, LABELS[a]))}
      {withRename && can(caps, "rename") && container.state !== "removing" && button("rename", "Rename")}
      {asking === "rename" && (
        <ConfirmDialog
          title={`Rename ${container.name}`}
          confirmLabel="Rename"
          onConfirm={() => void perform("rename")}
          onCancel={() => setAsking(null)}
        >
          <TextField
            label="New name"
            name="name"
            required
            pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]*"
            value={newName}
            onValue={setNewName}
          />
        </ConfirmDialog>
      )}
      {asking && asking !== "rename" && (
        <ConfirmDialog
          title={`${LABELS[asking]} ${container.name}?`}
          confirmLabel={LABELS[asking]}
          danger
          onConfirm={() => void perform(asking)}
          onCancel={() => setAsking(null)}
        >
          <p>{WARNINGS[asking]}</p>
          {asking === "remove" && (
            <>
              <label class="check">
                <input
                  type="checkbox"
                  name="force"
                  checked={force}
                  onChange={(e) => setForce(e.currentTarget.checked)}
                />
                Force (stop it first if it is running)
              </label>
              <label class="check">
                <input
                  type="checkbox"
                  name="volumes"
                  checked={volumes}
                  onChange={(e) => setVolumes(e.currentTarget.checked)}
                />
                Also remove its anonymous volumes
              </label>
            </>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
