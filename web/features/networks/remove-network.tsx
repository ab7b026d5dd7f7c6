import { useContext, useState } from "preact/hooks";
import type { ContainerItem, NetworkItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { ReportError } from "../../lib/report.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { hasEndpoint, removeNetwork } from "./networks.ts";

interface Props {
  network: NetworkItem;
  containers: ContainerItem[];
  onRemoved?: () => void;
}

/** Remove, after a question that names who loses the network. */
export function RemoveNetwork({ network, containers, onRemoved }: Props) {
  const env = useEnv().id;
  const report = useContext(ReportError);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const running = containers.filter(hasEndpoint);
  const stopped = containers.filter((c) => !hasEndpoint(c));
  const names = (list: ContainerItem[]) => list.map((c) => c.name).join(", ");
  const perform = async () => {
    setAsking(false);
    setBusy(true);
    try {
      await removeNetwork(env, network.id);
      onRemoved?.();
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
        data-action="remove-network"
        disabled={busy}
        aria-busy={busy}
        onClick={() => setAsking(true)}
      >
        Remove
      </button>
      {asking && (
        <ConfirmDialog
          title={`Remove network ${network.name}?`}
          confirmLabel="Remove"
          danger
          onConfirm={() => void perform()}
          onCancel={() => setAsking(false)}
        >
          {running.length > 0 && (
            <p data-testid="remove-attached">
              Still attached: {names(running)}. The engine refuses to remove a network while containers are
              attached; disconnect them first.
            </p>
          )}
          {stopped.length > 0 && (
            <p>
              Stopped containers that name it ({names(stopped)}) will not start again until they are connected
              to another network.
            </p>
          )}
          {containers.length === 0 && <p>No container uses it. Its settings ({network.driver}) are lost.</p>}
        </ConfirmDialog>
      )}
    </>
  );
}
