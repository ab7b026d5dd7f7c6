import { useContext, useState } from "preact/hooks";
import type { ContainerItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { ReportError } from "../../lib/report.ts";
import { runAction } from "../containers/actions.ts";

/** An app owner's one action: restart (or start, when it is not running). Viewers get none. */
export function RestartButton({ container }: { container: ContainerItem }) {
  const env = useEnv().id;
  const report = useContext(ReportError);
  const [busy, setBusy] = useState(false);
  if (useUser().role === "viewer") return null;
  const action = container.state === "running" ? "restart" : "start";
  return (
    <button
      type="button"
      data-action={action}
      disabled={busy}
      aria-busy={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await runAction(env, container.id, action, { force: false, volumes: false });
        } catch (err) {
          report(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      {action === "restart" ? "Restart" : "Start"}
    </button>
  );
}
