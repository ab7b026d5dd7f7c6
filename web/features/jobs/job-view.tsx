import { useEffect, useRef } from "preact/hooks";
import type { JobItem, JobStep } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { api } from "../../lib/api.ts";
import { formatBytes } from "../../lib/units.ts";

const STATE_TEXT: Record<JobItem["state"], string> = {
  running: "running",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
};

/** A job as it goes: one progress bar per step (a layer), its output, how it ended. */
export function JobView({ job, canCancel }: { job: JobItem; canCancel?: boolean }) {
  const env = useEnv().id;
  return (
    <section class="job card" data-testid="job" data-job={job.id} data-state={job.state}>
      <header class="job-head">
        <strong>
          {job.kind} {job.title}
        </strong>
        <span class={`badge job-${job.state}`} data-testid="job-state">
          {STATE_TEXT[job.state]}
        </span>
        <span class="muted">by {job.by}</span>
        {canCancel && job.state === "running" && (
          <button
            type="button"
            class="danger-text"
            onClick={() =>
              void api("POST", `/envs/${encodeURIComponent(env)}/jobs/${job.id}/cancel`).catch(() => {})
            }
          >
            Cancel
          </button>
        )}
      </header>
      {job.error && (
        <p class="alert" role="alert" data-testid="job-error">
          {job.error}
        </p>
      )}
      {job.steps.length > 0 && (
        <ul class="job-steps" data-testid="job-steps">
          {job.steps.map((s) => (
            <StepBar key={s.id} step={s} />
          ))}
        </ul>
      )}
      {job.log.length > 0 && <JobLog lines={job.log} />}
    </section>
  );
}

function StepBar({ step }: { step: JobStep }) {
  const done = /complete|exists|pushed|already/i.test(step.status);
  return (
    <li class="job-step" data-step={step.id}>
      <span class="mono">{step.id}</span>
      <progress
        max={step.total || 1}
        value={done ? step.total || 1 : step.total ? step.current : undefined}
        aria-label={`${step.id}: ${step.status}`}
      />
      <span class="muted">
        {step.status}
        {step.total > 0 && !done ? ` ${formatBytes(step.current)} / ${formatBytes(step.total)}` : ""}
      </span>
    </li>
  );
}

/** The output, kept scrolled to its end while new lines come. */
function JobLog({ lines }: { lines: string[] }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines.length, lines.at(-1)]);
  return (
    <pre class="job-log" ref={ref} data-testid="job-log">
      {lines.join("\n")}
    </pre>
  );
}
