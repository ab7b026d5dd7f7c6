import type { ListChange } from "../envs/list-mirror.ts";
import type { JobItem, JobStep } from "../protocol/views.ts";

/** What a running job reports through; `signal` ends when it is cancelled. */
export interface JobHandle {
  readonly signal: AbortSignal;
  /** one step's progress (a layer's bytes); a step seen for the first time is added */
  step(id: string, status: string, current?: number, total?: number): void;
  /** one line of output; only the last LOG_LINES are kept */
  line(text: string): void;
}

/** Who started a job: its name, and the teams whose members may watch it (admins see every job). */
export interface JobOwner {
  user: string;
  teams: readonly string[];
}

export interface Job extends JobItem {
  teams: readonly string[];
}

export const LOG_LINES = 500;
/** A job's progress reaches the stream at most this often (a pull reports every few kilobytes). */
const PUBLISH_MS = 150;
/** Finished jobs stay listed this long, so that who reloads the page sees how it ended. */
const KEEP_FINISHED_MS = 10 * 60_000;
const KEEP_FINISHED = 50;

/**
 * Jobs of every environment, in memory: each announces its changes as a list does
 * (src/envs/list-mirror.ts), so `jobs:<env>` is one more collection topic.
 */
export class Jobs {
  private jobs = new Map<
    string,
    { job: Job; abort: AbortController; timer?: ReturnType<typeof setTimeout> }
  >();
  private listeners = new Set<(envId: string, change: ListChange<Job>) => void>();

  onChange(listener: (envId: string, change: ListChange<Job>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(envId: string): Job[] {
    return [...this.jobs.values()].filter((j) => j.job.env === envId).map((j) => j.job);
  }

  get(envId: string, id: string): Job | undefined {
    const held = this.jobs.get(id);
    return held?.job.env === envId ? held.job : undefined;
  }

  /**
   * Starts `run` now and returns its job at once; the job ends when `run` settles (its value, if a
   * string, is the job's result). A failure is the job's error, never the caller's exception.
   */
  start(
    envId: string,
    what: { kind: string; title: string },
    owner: JobOwner,
    run: (handle: JobHandle) => Promise<string | undefined>,
  ): Job {
    this.expire();
    const job: Job = {
      id: crypto.randomUUID(),
      env: envId,
      kind: what.kind,
      title: what.title,
      by: owner.user,
      teams: owner.teams,
      state: "running",
      error: null,
      startedAt: Date.now(),
      endedAt: null,
      steps: [],
      log: [],
      result: null,
    };
    const held: { job: Job; abort: AbortController; timer?: ReturnType<typeof setTimeout> } = {
      job,
      abort: new AbortController(),
    };
    this.jobs.set(job.id, held);
    const changed = () => {
      held.timer ??= setTimeout(() => {
        held.timer = undefined;
        if (job.state === "running")
          this.emit(job.env, { kind: "upsert", item: { ...job }, before: undefined });
      }, PUBLISH_MS);
    };
    const steps = new Map<string, JobStep>();
    const handle: JobHandle = {
      signal: held.abort.signal,
      step: (id, status, current = 0, total = 0) => {
        let s = steps.get(id);
        if (!s) {
          s = { id, status, current, total };
          steps.set(id, s);
          job.steps.push(s);
        }
        s.status = status;
        s.current = current;
        s.total = total;
        changed();
      },
      line: (text) => {
        job.log.push(text);
        if (job.log.length > LOG_LINES) job.log.splice(0, job.log.length - LOG_LINES);
        changed();
      },
    };
    this.emit(envId, { kind: "upsert", item: { ...job }, before: undefined });
    void (async () => {
      try {
        const result = await run(handle);
        job.result = typeof result === "string" ? result : null;
        job.state = "done";
      } catch (err) {
        job.state = held.abort.signal.aborted ? "cancelled" : "failed";
        job.error = err instanceof Error ? err.message : String(err);
      }
      clearTimeout(held.timer);
      held.timer = undefined;
      job.endedAt = Date.now();
      this.emit(envId, { kind: "upsert", item: { ...job, steps: [...job.steps] }, before: undefined });
    })();
    return job;
  }

  /** Cancels a running job (its work sees `signal` abort); false if it is not running. */
  cancel(envId: string, id: string): boolean {
    const held = this.jobs.get(id);
    if (!held || held.job.env !== envId || held.job.state !== "running") return false;
    held.abort.abort(new Error("cancelled"));
    return true;
  }

  /** Forgets the jobs of an environment that is gone. */
  forget(envId: string): void {
    for (const [id, held] of this.jobs) {
      if (held.job.env !== envId) continue;
      held.abort.abort(new Error("the environment was removed"));
      this.jobs.delete(id);
    }
  }

  private expire(): void {
    const now = Date.now();
    const finished = [...this.jobs.values()].filter((h) => h.job.endedAt !== null);
    finished.sort((a, b) => (b.job.endedAt ?? 0) - (a.job.endedAt ?? 0));
    finished.forEach((h, i) => {
      if (i >= KEEP_FINISHED || now - (h.job.endedAt ?? now) > KEEP_FINISHED_MS) {
        this.jobs.delete(h.job.id);
        this.emit(h.job.env, { kind: "remove", id: h.job.id, item: h.job });
      }
    });
  }

  private emit(envId: string, change: ListChange<Job>): void {
    for (const l of this.listeners) l(envId, change);
  }
}
