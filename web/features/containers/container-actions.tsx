import { Ellipsis } from "lucide";
import { useState } from "preact/hooks";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { Icon } from "../../ui/icon.tsx";
import { Menu } from "../../ui/menu.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { useToast } from "../../ui/toasts.tsx";
import {
  type Action,
  actionError,
  actionsFor,
  can,
  DONE,
  ICONS,
  LABELS,
  PENDING,
  rename,
  runAction,
  WARNINGS,
} from "./actions.ts";

interface Props {
  container: ContainerItem;
  /** Offer renaming too (the detail page has room for it, list rows do not). */
  withRename?: boolean;
  /** One menu button instead of a row of buttons (the list: one tab stop per row). */
  compact?: boolean;
  onRemoved?: () => void;
}

type Asking = Action | "rename" | null;

export function ContainerActions({ container, withRename, compact, onRemoved }: Props) {
  const { id: env, view } = useEnv();
  const caps = view?.capabilities;
  const toast = useToast();
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
      toast({
        kind: "ok",
        text:
          what === "rename"
            ? `Renamed ${container.name} to ${newName.trim()}`
            : `${DONE[what]} ${container.name}`,
      });
      if (what === "remove") onRemoved?.();
    } catch (err) {
      toast({ kind: "error", text: actionError(err, what, container.name) });
    } finally {
      setBusy(null);
    }
  };

  const ask = (what: Action | "rename") => {
    // Removing a running container needs force: offered ticked, and said so in the dialog.
    setForce(
      what === "remove" &&
        (container.state === "running" || container.state === "paused" || container.state === "restarting"),
    );
    setVolumes(false);
    setNewName(container.name);
    if (what === "rename" || WARNINGS[what]) setAsking(what);
    else void perform(what);
  };

  if (viewer) return null;
  const actions: (Action | "rename")[] = [...actionsFor(container.state, caps)];
  if (withRename && can(caps, "rename") && container.state !== "removing") actions.push("rename");
  const labelOf = (what: Action | "rename") => (what === "rename" ? "Rename" : LABELS[what]);

  return (
    <div class="actions">
      {busy && busy !== "rename" && compact && (
        <span class="pending muted" aria-live="polite">
          {PENDING[busy]}
        </span>
      )}
      {compact ? (
        <Menu
          label={`Actions for ${container.name}`}
          busy={busy !== null}
          items={actions.map((what) => ({
            key: what,
            label: labelOf(what),
            icon: what === "rename" ? undefined : <Icon icon={ICONS[what]} />,
            danger: what === "remove" || what === "kill",
            onSelect: () => ask(what),
          }))}
        >
          <Icon icon={Ellipsis} />
        </Menu>
      ) : (
        actions.map((what) => (
          <button
            type="button"
            key={what}
            data-action={what}
            class={what === "remove" || what === "kill" ? "danger-text" : undefined}
            disabled={busy !== null}
            aria-busy={busy === what}
            onClick={() => ask(what)}
          >
            {what !== "rename" && <Icon icon={ICONS[what]} />}
            {busy === what && what !== "rename" ? PENDING[what] : labelOf(what)}
          </button>
        ))
      )}
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
                Force: stop it first if it is running{container.state === "running" ? " (it is)" : ""}
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
