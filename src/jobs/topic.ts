import type { Audience, Policy } from "../auth/policy.ts";
import { TEAM_LABEL } from "../auth/teams.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import type { Environments } from "../envs/environments.ts";
import type { JobItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import type { Job, Jobs } from "./jobs.ts";

/** `jobs:<env>`: pulls, pushes, builds… of one engine, live; each seen by admins and its starter's teams. */
export function registerJobTopic(
  bus: TopicBus,
  deps: { envs: Environments; policy: Policy; jobs: Jobs },
): void {
  registerCollectionTopic<Job, JobItem>(bus, deps, {
    family: "jobs",
    action: "envs:read",
    items: (env) => deps.jobs.list(env.id),
    follow: (listener) => deps.jobs.onChange(listener),
    visible: jobVisible,
    wire: ({ teams: _teams, ...item }) => item,
  });
}

/** Admins and whoever owns the whole engine see every job; others, the jobs of their teams' members. */
export function jobVisible(audience: Audience, job: Job): boolean {
  // Seeing what no team owns is seeing everything.
  if (audience.sees({ name: "", labels: {} })) return true;
  return job.teams.some((team) => audience.sees({ name: "", labels: { [TEAM_LABEL]: team } }));
}
