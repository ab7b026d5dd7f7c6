import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, json } from "../http/schemas.ts";
import { strict } from "../safety/create-schema.ts";
import { ContainerRefParams } from "./recreate-route.ts";

const MAX_BYTES = 2 ** 50; // 1 PiB: beyond any host, still an exact integer
const between = (min: number, max: number) => z.optional(z.int().check(z.minimum(min), z.maximum(max)));
/** 0 (no limit, or unchanged) or at least `min`, as the engine's own validation wants. */
const zeroOr = (min: number, max: number) =>
  z.optional(
    z.int().check(z.refine((n) => n === 0 || (n >= min && n <= max), `0, or from ${min} to ${max}`)),
  );
const CpuSet = z.optional(
  z.string().check(z.maxLength(256), z.regex(/^[0-9,-]*$/, "CPU numbers and ranges, e.g. 0-2,4")),
);

/**
 * The body of `POST /containers/{id}/update` (moby's ContainerUpdate: Resources and RestartPolicy),
 * narrowed to the limits that reach no further than the container itself — each of them "free" in
 * engine safety's HostConfig rules (tests/unit/update-schema.test.ts keeps it so). Devices, device
 * cgroup rules, Ulimits, the cgroup parent and realtime CPU are left out: they reach the host, and
 * a change to them goes through a recreate, which engine safety checks field by field.
 */
export const UpdateSchema = strict({
  CpuShares: zeroOr(2, 262_144),
  Memory: zeroOr(6 * 1024 * 1024, MAX_BYTES),
  MemoryReservation: between(0, MAX_BYTES),
  MemorySwap: between(-1, MAX_BYTES),
  NanoCpus: between(0, 1024 * 1e9),
  CpuPeriod: zeroOr(1000, 1_000_000),
  CpuQuota: z.optional(
    z.int().check(z.refine((n) => n === -1 || n === 0 || (n >= 1000 && n <= 2 ** 40), "-1, 0, or ≥ 1000")),
  ),
  CpusetCpus: CpuSet,
  CpusetMems: CpuSet,
  BlkioWeight: zeroOr(10, 1000),
  PidsLimit: between(-1, 4_194_304),
  RestartPolicy: z.optional(
    strict({
      Name: z.enum(["", "no", "always", "unless-stopped", "on-failure"]),
      MaximumRetryCount: between(0, 1000),
    }),
  ),
});
export type ContainerUpdate = z.output<typeof UpdateSchema>;

/**
 * `POST …/containers/{id}/update`: limits and restart policy changed in place, the container
 * neither stopped nor made again (its id stays). An operator's action on a container it may
 * operate, like a restart.
 */
export function updateRoutes(routes: RouteTable, { envs, policy }: { envs: Environments; policy: Policy }) {
  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/containers/{id}/update",
      tag: "containers",
      policy: "containers:operate",
      summary:
        "Change a container's CPU, memory and pids limits or restart policy in place (the engine's ContainerUpdate, limited to those fields)",
      params: ContainerRefParams,
      body: UpdateSchema,
      responses: { 200: json(z.object({ warnings: z.array(z.string()) }), "Updated"), ...commonErrors },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const ref = ownedRef(policy, callerOf(c), env, params.id, "containers:operate");
      const given = Object.entries(body).filter(([, v]) => v !== undefined);
      if (!given.length) throw new ApiError(400, "invalid_request", "nothing to change: name a limit");
      const container = env.containers.find(ref);
      noteAudit(c, {
        target: { name: container?.name ?? params.id, changed: given.map(([k]) => k).join(",") },
      });
      const answer = await env.engine.send<{ Warnings?: string[] | null }>(
        "POST",
        containerPath(ref, "/update"),
        { body: Object.fromEntries(given) },
      );
      await env.containers.refresh(container?.id ?? ref).catch(() => {});
      return c.json({ warnings: (answer?.Warnings ?? []).filter(Boolean) });
    },
  );
}
