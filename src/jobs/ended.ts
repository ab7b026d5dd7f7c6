import type { JobItem } from "../protocol/views.ts";
import type { Job, Jobs } from "./jobs.ts";

/** A job as callers get it: who may watch it is the panel's business. */
export function jobItem({ teams: _teams, ...item }: Job): JobItem {
  return item;
}

/**
 * Settles once the job has ended (done, failed or cancelled), for a route that answers only then:
 * an upload whose request is the job's input cannot be answered before it is read.
 */
export function jobEnded(jobs: Jobs, job: Job): Promise<Job> {
  return new Promise((resolve) => {
    if (job.state !== "running") return resolve(job);
    const off = jobs.onChange((_env, change) => {
      if (change.kind === "upsert" && change.item.id === job.id && change.item.state !== "running") {
        off();
        resolve(change.item);
      }
    });
  });
}
