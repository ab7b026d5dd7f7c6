import { useState } from "preact/hooks";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { Icon } from "../../ui/icon.tsx";
import { useToast } from "../../ui/toasts.tsx";
import {
  type Action,
  actionError,
  actionsFor,
  DONE,
  ICONS,
  LABELS,
  PENDING,
  runAction,
  WARNINGS,
} from "./actions.ts";

const BULK: Action[] = ["start", "stop", "restart", "pause", "unpause", "kill", "remove"];
/** Actions sent to the engine side by side: enough to be quick, few enough not to flood it. */
const AT_ONCE = 4;

interface Props {
  containers: ContainerItem[];
  /** a group's header: smaller, and named in the dialog by `label` */
  inline?: boolean;
  label?: string;
  onDone?: () => void;
}

/** Actions on several containers (a selection, a stack): each applied only where it fits the state. */
export function BulkBar({ containers, inline, label, onDone }: Props) {
  const { id: env, view } = useEnv();
  const toast = useToast();
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState<Action | null>(null);
  const [force, setForce] = useState(false);
  const targets = (a: Action) =>
    containers.filter((c) => actionsFor(c.state, view?.capabilities).includes(a));
  const offered = BULK.filter((a) => targets(a).length > 0);

  const perform = async (action: Action) => {
    setAsking(null);
    setBusy(action);
    const list = targets(action);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const c = list[next++]!;
        await runAction(env, c.id, action, { force, volumes: false }).catch((err) =>
          failures.push(actionError(err, action, c.name)),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, list.length) }, worker));
    setBusy(null);
    const done = list.length - failures.length;
    if (done > 0)
      toast({ kind: "ok", text: `${DONE[action]} ${done} ${done === 1 ? "container" : "containers"}` });
    if (failures.length) toast({ kind: "error", text: failures.join(" ") });
    onDone?.();
  };

  const names = (a: Action) => {
    const list = targets(a).map((c) => c.name);
    return list.length > 6 ? `${list.slice(0, 6).join(", ")} and ${list.length - 6} more` : list.join(", ");
  };

  return (
    <fieldset
      class={inline ? "bulk inline" : "bulk"}
      data-testid={inline ? "group-actions" : "bulk-bar"}
      aria-label={label ? `Actions on ${label}` : "Actions on the selected containers"}
    >
      {!inline && <span>{containers.length} selected</span>}
      {offered.map((a) => (
        <button
          type="button"
          key={a}
          data-bulk={a}
          class={a === "remove" || a === "kill" ? "danger-text" : undefined}
          disabled={busy !== null}
          aria-busy={busy === a}
          onClick={() => {
            setForce(a === "remove");
            if (WARNINGS[a]) setAsking(a);
            else void perform(a);
          }}
        >
          <Icon icon={ICONS[a]} />
          {busy === a ? PENDING[a] : `${LABELS[a]}${inline ? "" : ` (${targets(a).length})`}`}
        </button>
      ))}
      <a
        class="button"
        data-bulk="logs"
        href={envHref({ page: "logs", env, ids: containers.map((c) => c.id) })}
      >
        {inline ? "Logs" : `Logs (${containers.length})`}
      </a>
      {asking && (
        <ConfirmDialog
          title={`${LABELS[asking]} ${targets(asking).length} ${targets(asking).length === 1 ? "container" : "containers"}?`}
          confirmLabel={LABELS[asking]}
          danger
          onConfirm={() => void perform(asking)}
          onCancel={() => setAsking(null)}
        >
          <p>{names(asking)}</p>
          <p>{WARNINGS[asking]}</p>
          {asking === "remove" && (
            <label class="check">
              <input
                type="checkbox"
                name="force"
                checked={force}
                onChange={(e) => setForce(e.currentTarget.checked)}
              />
              Force: stop running ones first
            </label>
          )}
        </ConfirmDialog>
      )}
    </fieldset>
  );
}
