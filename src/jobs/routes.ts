import * as z from "zod/mini";
import { callerOf } from "../auth/middleware.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json } from "../http/schemas.ts";
import type { Job, JobOwner, Jobs } from "./jobs.ts";
import { jobVisible } from "./topic.ts";

const JobSchema = z.object({
  id: z.string(),
  env: z.string(),
  kind: z.string(),
  title: z.string(),
  by: z.string(),
  state: z.enum(["running", "done", "failed", "cancelled"]),
  error: z.nullable(z.string()),
  startedAt: z.number(),
  endedAt: z.nullable(z.number()),
  steps: z.array(z.object({ id: z.string(), status: z.string(), current: z.number(), total: z.number() })),
  log: z.array(z.string()),
  result: z.nullable(z.string()),
});

const JobParams = z.object({ ...EnvParam.shape, id: z.uuid() });

/** Who a job started now belongs to: the caller, and the teams whose members may watch it. */
export function jobOwner(policy: Policy, caller: Caller): JobOwner {
  return { user: caller.user.username, teams: policy.teamsOf(caller) };
}

/** The jobs of an engine (pulls, pushes, builds…): what runs and how it ended; `jobs:<env>` is the live view. */
export function jobRoutes(
  routes: RouteTable,
  { envs, policy, jobs }: { envs: Environments; policy: Policy; jobs: Jobs },
): void {
  const wire = ({ teams: _teams, ...item }: Job) => item;
  const visibleJob = (caller: Caller, envId: string, id: string): Job => {
    const job = jobs.get(envId, id);
    if (!job || !jobVisible(policy.audience(caller, envId), job))
      throw new ApiError(404, "not_found", "no such job");
    return job;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/jobs",
      tag: "jobs",
      policy: "envs:read",
      summary: "Running and recently finished jobs (pulls, pushes, builds…) the caller may see",
      params: EnvParam,
      responses: { 200: json(z.array(JobSchema), "Jobs"), ...commonErrors },
    },
    (c, { params }) => {
      const env = envFor(envs, params.env);
      const audience = policy.audience(callerOf(c), env.id);
      return c.json(
        jobs
          .list(env.id)
          .filter((j) => jobVisible(audience, j))
          .map(wire),
      );
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/jobs/{id}",
      tag: "jobs",
      policy: "envs:read",
      summary: "One job",
      params: JobParams,
      responses: { 200: json(JobSchema, "Job"), ...commonErrors },
    },
    (c, { params }) => c.json(wire(visibleJob(callerOf(c), envFor(envs, params.env).id, params.id))),
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/jobs/{id}/cancel",
      tag: "jobs",
      policy: "jobs:cancel",
      summary: "Cancel a running job: its starter or an admin",
      params: JobParams,
      responses: {
        204: "Cancelled",
        ...commonErrors,
        403: errorResponse("Another user's job"),
        409: errorResponse("Not running"),
      },
    },
    (c, { params }) => {
      const caller = callerOf(c);
      const env = envFor(envs, params.env);
      const job = visibleJob(caller, env.id, params.id);
      if (caller.user.role !== "admin" && job.by !== caller.user.username) {
        throw new ApiError(403, "forbidden", `only ${job.by} or an admin can cancel this job`);
      }
      if (!jobs.cancel(env.id, job.id))
        throw new ApiError(
          409,
          "conflict",
          `the job has already ${job.state === "done" ? "finished" : job.state}`,
        );
      return c.body(null, 204);
    },
  );
}
