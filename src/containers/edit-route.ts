import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import type { Jobs } from "../jobs/jobs.ts";
import { jobOwner } from "../jobs/routes.ts";
import {
  type ContainerCreate,
  ContainerCreateSchema,
  type EndpointSettings,
} from "../safety/create-schema.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { portConflicts } from "./port-conflicts.ts";
import { recreateContainer } from "./recreate.ts";
import { ContainerRefParams } from "./recreate-route.ts";
import { checkCreate, createVolumes } from "./vetted-create.ts";

const primaryOf = (body: ContainerCreate) => {
  const mode = body.HostConfig?.NetworkMode ?? "";
  return mode === "" || mode === "default" ? "bridge" : mode;
};

/**
 * The edited body, joined again to the networks beyond the main one the old container was on:
 * the form shows one network, and an edit must not drop a container from the others. The main
 * network is the edit's to choose; with host, none or another container's stack there are no
 * other networks to join.
 */
export function withOtherNetworks(recipe: ContainerCreate, edited: ContainerCreate): ContainerCreate {
  const primary = primaryOf(edited);
  if (/^(host|none|container:)/.test(primary)) return edited;
  const before = primaryOf(recipe);
  const endpoints: Record<string, EndpointSettings> = {};
  for (const [network, settings] of Object.entries(recipe.NetworkingConfig?.EndpointsConfig ?? {}))
    if (network !== before && network !== primary && settings) endpoints[network] = settings;
  const own = edited.NetworkingConfig?.EndpointsConfig ?? {};
  endpoints[primary] = own[primary] ?? {};
  for (const [network, settings] of Object.entries(own)) if (settings) endpoints[network] = settings;
  return { ...edited, NetworkingConfig: { EndpointsConfig: endpoints } };
}

/**
 * `POST …/containers/{id}/edit`: the container made again from an edited ContainerCreate body,
 * as a job on `jobs:<env>` — same name, its other networks and its anonymous volumes kept, the
 * old one set aside and put back if the new one cannot be made or started (src/containers/
 * recreate.ts). The edited body passes the same gate as a create (checkCreate): an edit gives a
 * non-admin nothing a create would not.
 */
export function editRoutes(
  routes: RouteTable,
  {
    envs,
    policy,
    settings,
    jobs,
  }: { envs: Environments; policy: Policy; settings: SettingsStore; jobs: Jobs },
): void {
  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers/{id}/edit",
      tag: "containers",
      policy: "containers:operate",
      summary:
        "Recreate a container with an edited configuration (ContainerCreate), keeping its name, other networks and volumes (a job)",
      params: ContainerRefParams,
      body: ContainerCreateSchema,
      responses: {
        202: json(z.object({ job: z.string() }), "Started: follow the job"),
        409: errorResponse("A host port already published by another running container"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      const ref = ownedRef(policy, caller, env, params.id, "containers:operate");
      const container = env.containers.find(ref);
      if (!container) throw new ApiError(404, "not_found", `no container "${params.id}"`);
      const { name, ...edited } = body;
      if (name !== undefined && name.replace(/^\//, "") !== container.name)
        throw new ApiError(
          400,
          "invalid_request",
          `name: an edit keeps the name "${container.name}" (rename the container on its own)`,
        );
      noteAudit(c, { target: { name: container.name, image: edited.Image } });
      const clashes = portConflicts(
        edited.HostConfig?.PortBindings,
        env.containers.list().filter((other) => other.id !== container.id),
        policy.audience(caller, env.id),
      );
      if (clashes.length)
        throw new ApiError(409, "port_taken", `${clashes.join("; ")}: choose another host port`);
      // Refused at once, before anything is set aside: the job checks again, with the networks kept.
      const check = (spec: ContainerCreate) =>
        checkCreate(env, policy, caller, readEngineSafety(settings), spec);
      await check(edited);
      const job = jobs.start(
        env.id,
        { kind: "edit", title: `${container.name} (${edited.Image})` },
        jobOwner(policy, caller),
        (handle) =>
          recreateContainer(
            env,
            container.id,
            {
              image: edited.Image,
              pull: false,
              edit: (recipe) => withOtherNetworks(recipe, edited),
              check,
              createVolumes: (checked) => createVolumes(env, checked),
            },
            handle,
          ),
      );
      return c.json({ job: job.id }, 202);
    },
  );
}
