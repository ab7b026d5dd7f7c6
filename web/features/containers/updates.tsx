import { useContext, useState } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { JobItem, UpdateItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { containerHref, navigate } from "../../app/route.ts";
import { api } from "../../lib/api.ts";
import { useLiveCollection } from "../../lib/live.ts";
import { ReportError } from "../../lib/report.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";

/** The current environment's update results (`updates:<env>`), by container id. */
export function useUpdates(): ReadonlyMap<string, UpdateItem> {
  const live = useLiveCollection<UpdateItem>(topic.updates(useEnv().id));
  return new Map((live.list ?? []).map((u) => [u.id, u]));
}

/** "update available" when the registry serves a newer image for the container's tag. */
export function UpdateBadge({ update }: { update: UpdateItem | undefined }) {
  if (update?.status !== "available") return null;
  return (
    <span
      class="badge update-available"
      data-testid="update-available"
      title={`the registry serves ${update.remote_digest}; this container runs ${update.local_digest}`}
    >
      update available
    </span>
  );
}

const JOB_POLL_MS = 500;

/**
 * What the last recreate said, by container name: the recreated container has another id, so its
 * page is another page, which shows it on arrival.
 */
const lastSaid = new Map<string, string>();

/**
 * The container page's part: the last check's answer, "Check now", and "Recreate with newer
 * image" (pull, then the same container made again on it), followed until its job ends.
 */
export function UpdatePanel({
  id,
  name,
  update,
}: {
  id: string;
  name: string;
  update: UpdateItem | undefined;
}) {
  const { id: env } = useEnv();
  const role = useUser().role;
  const report = useContext(ReportError);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState<"check" | "recreate" | null>(null);
  const [said, setSaid] = useState<string | null>(() => {
    const left = lastSaid.get(name) ?? null;
    lastSaid.delete(name);
    return left;
  });
  if (role === "viewer") return update ? <UpdateBadge update={update} /> : null;

  const check = async () => {
    setBusy("check");
    setSaid(null);
    try {
      const [u] = await api<UpdateItem[]>(
        "POST",
        `/envs/${env}/updates/check?container=${encodeURIComponent(id)}`,
      );
      setSaid(u ? describe(u) : "nothing to check");
    } catch (err) {
      report(err);
    } finally {
      setBusy(null);
    }
  };

  const recreate = async () => {
    setAsking(false);
    setBusy("recreate");
    setSaid("pulling and recreating…");
    try {
      const { job } = await api<{ job: string }>(
        "POST",
        `/envs/${env}/containers/${encodeURIComponent(id)}/recreate`,
      );
      for (;;) {
        const j = await api<JobItem>("GET", `/envs/${env}/jobs/${job}`);
        if (j.state === "done" && j.result) {
          lastSaid.set(name, `${name} was recreated on the newer image`);
          navigate(containerHref(env, j.result));
          break;
        }
        if (j.state !== "running") {
          setSaid(`recreate ${j.state}: ${j.error ?? ""}`);
          break;
        }
        await new Promise((r) => setTimeout(r, JOB_POLL_MS));
      }
    } catch (err) {
      setSaid(null);
      report(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="update-panel" data-testid="update-panel">
      <UpdateBadge update={update} />
      {update && update.status !== "available" && (
        <span class="muted" data-testid="update-status">
          {describe(update)}
        </span>
      )}
      <button
        type="button"
        data-action="check-update"
        disabled={busy !== null}
        aria-busy={busy === "check"}
        onClick={check}
      >
        Check for update
      </button>
      {update?.status === "available" && (
        <button
          type="button"
          class="primary"
          data-action="recreate"
          disabled={busy !== null}
          aria-busy={busy === "recreate"}
          onClick={() => setAsking(true)}
        >
          Recreate with newer image
        </button>
      )}
      {said && (
        <span class="muted" role="status" data-testid="update-said">
          {said}
        </span>
      )}
      {asking && (
        <ConfirmDialog
          title={`Recreate ${name} with the newer image?`}
          confirmLabel="Recreate"
          onConfirm={() => void recreate()}
          onCancel={() => setAsking(false)}
        >
          <p>
            The newer image is pulled, then {name} is stopped and made again on it with the same
            configuration, networks and volumes. What it keeps only in its own filesystem (outside volumes) is
            lost. If the new one cannot be made, the old one is put back.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function describe(u: UpdateItem): string {
  switch (u.status) {
    case "available":
      return "update available";
    case "current":
      return "image is up to date";
    default:
      return u.error ?? u.status;
  }
}
