import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json, queryFlag } from "../http/schemas.ts";
import type { Jobs } from "../jobs/jobs.ts";
import { jobOwner } from "../jobs/routes.ts";
import type { RegistryCredentials } from "../registries/credentials.ts";
import { ImageReferenceError, isImageId, parseReference } from "../registries/reference.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { recreateContainer } from "./recreate.ts";
import { checkCreate, createVolumes } from "./vetted-create.ts";

/** A container named in the path, by Docker's rule for names and ids. */
export const ContainerRefParams = z.extend(EnvParam, {
  id: z
    .string()
    .check(z.maxLength(257), z.regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "not a container name or id")),
});

/**
 * `POST …/containers/{id}/recreate`: the container made again from its image's newest version
 * (pulled first with the registry's stored login, unless ?pull=false), as a job on `jobs:<env>`.
 * A non-admin's new body goes through engine safety exactly as a create does.
 */
export function recreateRoutes(
  routes: RouteTable,
  {
    envs,
    policy,
    settings,
    jobs,
    registries,
  }: {
    envs: Environments;
    policy: Policy;
    settings: SettingsStore;
    jobs: Jobs;
    registries: RegistryCredentials;
  },
): void {
  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers/{id}/recreate",
      tag: "containers",
      policy: "containers:operate",
      summary:
        "Recreate a container with the newest image of its tag, keeping its name, configuration, networks and volumes (a job)",
      params: ContainerRefParams,
      query: z.object({ pull: z.optional(queryFlag) }),
      responses: { 202: json(z.object({ job: z.string() }), "Started: follow the job"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      const ref = ownedRef(policy, caller, env, params.id, "containers:operate");
      const container = env.containers.find(ref);
      if (!container) throw new ApiError(404, "not_found", `no container "${params.id}"`);
      noteAudit(c, { target: { name: container.name, image: container.image } });
      const pull = query.pull ?? true;
      if (pull) {
        const nothing = new ApiError(
          400,
          "invalid_request",
          `${container.name} was made from ${container.image}, not a tag of a registry: nothing to pull (?pull=false recreates it as it is)`,
        );
        if (isImageId(container.image)) throw nothing;
        try {
          parseReference(container.image);
        } catch (err) {
          if (err instanceof ImageReferenceError) throw nothing;
          throw err;
        }
      }
      const job = jobs.start(
        env.id,
        { kind: "recreate", title: `${container.name} (${container.image})` },
        jobOwner(policy, caller),
        (handle) =>
          recreateContainer(
            env,
            container.id,
            {
              pull,
              credentials: registries,
              check: (body) => checkCreate(env, policy, caller, readEngineSafety(settings), body),
              createVolumes: (checked) => createVolumes(env, checked),
            },
            handle,
          ),
      );
      return c.json({ job: job.id }, 202);
    },
  );
}
