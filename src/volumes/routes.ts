import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import type { Action } from "../auth/actions.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import { withTeamLabel } from "../auth/team-label.ts";
import { REMOVAL_TIMEOUT_MS } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { type Environment, type Environments, listOf } from "../envs/environments.ts";
import { envFor, NotFound } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import { allowEngineWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json, queryFlag } from "../http/schemas.ts";
import { MAX_UPLOAD_BYTES } from "../http/upload.ts";
import { VolumeCreateSchema, VolumeName } from "../safety/create-schema.ts";
import { vetVolumeCreate, volumeDriverProblems } from "../safety/rules.ts";
import { PRUNE_TIMEOUT_MS } from "../system/prune.ts";
import { createVolume } from "./create.ts";
import { backup, listDirectory, MAX_LISTED, readFile, restore } from "./files.ts";
import { VOLUMES } from "./kind.ts";
import { cachedVolumeSizes, SIZES_TIMEOUT_MS, volumeSizes } from "./sizes.ts";
import { usersByVolume, volumeItem } from "./usage.ts";
import { asOwned, type EngineVolume, fromEngine, type VolumeView } from "./view.ts";

const VolumeParams = z.extend(EnvParam, { name: VolumeName });
const PathQuery = z.object({ path: z._default(z.string().check(z.maxLength(4096)), "/") });
const Labels = z.optional(
  z.union([z.string().check(z.maxLength(512)), z.array(z.string().check(z.maxLength(512)))]),
);

const VolumeSchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.string(),
  mountpoint: z.string(),
  scope: z.string(),
  created: z.nullable(z.string()),
  labels: z.record(z.string(), z.string()),
  options: z.record(z.string(), z.string()),
  used_by: z.array(z.object({ id: z.string(), name: z.string(), state: z.string() })),
  used_by_hidden: z.number(),
});

/** The volume as the engine has it now, if the caller may `action` it; what it may not see is missing. */
async function ownedVolume(
  env: Environment,
  policy: Policy,
  caller: Caller,
  name: string,
  action: Action,
): Promise<VolumeView> {
  let view: VolumeView;
  try {
    view = fromEngine(await env.engine.get<EngineVolume>(`/volumes/${encodeURIComponent(name)}`));
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) throw noVolume(env, name);
    throw err;
  }
  if (!policy.can(caller, action, { env: env.id, container: asOwned(view) })) throw noVolume(env, name);
  return view;
}

/** Whether the engine has a volume of this name, whoever's it is. */
async function volumeExists(env: Environment, name: string): Promise<boolean> {
  try {
    await env.engine.get(`/volumes/${encodeURIComponent(name)}`);
    return true;
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return false;
    throw err;
  }
}

const noVolume = (env: Environment, name: string) =>
  new NotFound(`no volume "${name}" in environment "${env.id}"`);

/**
 * Reaching a volume's files is mounting it: a non-admin may not through a volume that is a host
 * directory or another machine's share (the same rule as for a container's mounts).
 */
function mountable(caller: Caller, view: VolumeView): void {
  if (caller.user.role === "admin") return;
  const problems = volumeDriverProblems(view.driver, view.options);
  if (problems.length)
    throw new ApiError(
      403,
      "engine_safety",
      `volume "${view.name}" reaches past the engine's own storage (${problems.join("; ")}); ask an admin`,
    );
}

/** "a, b and 2 more you cannot see": the containers using a volume, as this caller may know them. */
function usersText(env: Environment, policy: Policy, caller: Caller, name: string, running = false): string {
  const users = (usersByVolume(env).get(name) ?? []).filter((c) => !running || c.state === "running");
  const audience = policy.audience(caller, env.id);
  const seen = users.filter((c) => audience.sees(c)).map((c) => c.name);
  const hidden = users.length - seen.length;
  return [...seen, ...(hidden ? [`${hidden} more you cannot see`] : [])].join(", ");
}

function labelFilters(label: string | string[] | undefined): string[] {
  return typeof label === "string" ? [label] : (label ?? []);
}

function downloadName(name: string): string {
  return `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function volumeRoutes(
  routes: RouteTable,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  const mirrorOf = async (env: Environment) => {
    const mirror = listOf(env, VOLUMES);
    if (!mirror.ready) await mirror.refresh();
    return mirror;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes",
      tag: "volumes",
      policy: "volumes:read",
      summary:
        "All volumes the caller may see, with the containers using each (answered from the panel's mirrors)",
      params: EnvParam,
      responses: { 200: json(z.array(VolumeSchema), "Volumes"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const mirror = await mirrorOf(env);
      const audience = policy.audience(callerOf(c), env.id);
      return c.json(
        mirror
          .list()
          .filter((v) => audience.sees(asOwned(v)))
          .map((v) => volumeItem(v, audience, env)),
      );
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/volumes",
      tag: "volumes",
      policy: "volumes:operate",
      summary:
        "Create a volume: Docker's VolumeCreate body; a non-admin's driver and options are checked (docs/security.md)",
      params: EnvParam,
      body: VolumeCreateSchema,
      responses: {
        201: json(VolumeSchema, "Created"),
        403: errorResponse("Refused by engine safety"),
        409: errorResponse("Name taken"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      noteAudit(c, { target: { volume: body.Name, driver: body.Driver ?? "local" } });
      if (caller.user.role !== "admin") {
        const problems = vetVolumeCreate(body);
        if (problems.length)
          throw new ApiError(403, "engine_safety", `${problems.join("; ")} (ask an admin)`);
      }
      const labels = withTeamLabel(caller, policy, env.id, body.Labels);
      // The engine answers a create of a name it has with the volume it has: say it is taken instead.
      if (await volumeExists(env, body.Name))
        throw new ApiError(409, "name_taken", `a volume named "${body.Name}" already exists`);
      await createVolume(env.engine, {
        Name: body.Name,
        Driver: body.Driver,
        DriverOpts: body.DriverOpts,
        Labels: labels,
      });
      const mirror = listOf(env, VOLUMES);
      await mirror.refresh();
      const made = mirror.get(body.Name);
      if (!made) throw new ApiError(502, "engine_error", "the engine made the volume but does not list it");
      return c.json(volumeItem(made, policy.audience(caller, env.id), env), 201);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/_sizes",
      tag: "volumes",
      policy: "volumes:read",
      summary:
        "Volume sizes from the engine's /system/df, which is slow: read once, then cached (?refresh=true reads again); `at` says when",
      params: EnvParam,
      query: z.object({ refresh: queryFlag }),
      responses: {
        200: json(z.object({ at: z.string(), sizes: z.record(z.string(), z.number()) }), "Sizes"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      // The engine walks every volume's files to size them before it answers.
      allowEngineWait(c, SIZES_TIMEOUT_MS);
      const all = await volumeSizes(env, query.refresh);
      const audience = policy.audience(callerOf(c), env.id);
      const mirror = await mirrorOf(env);
      const sizes: Record<string, number> = {};
      for (const [name, size] of Object.entries(all.sizes)) {
        const v = mirror.get(name);
        if (v && audience.sees(asOwned(v))) sizes[name] = size;
      }
      return c.json({ at: all.at, sizes });
    },
  );

  const pruneQuery = z.object({ label: Labels });
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/_prune",
      tag: "volumes",
      policy: "volumes:prune",
      summary:
        "What a prune would remove: every volume no container uses (?label=k or k=v, repeatable, narrows it), with its last known size",
      params: EnvParam,
      query: pruneQuery,
      responses: {
        200: json(
          z.object({
            volumes: z.array(VolumeSchema),
            size: z.nullable(z.number()),
            sizes_at: z.nullable(z.string()),
          }),
          "Preview",
        ),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const mirror = await mirrorOf(env);
      await env.containers.sync("poll");
      const users = usersByVolume(env);
      const filters = labelFilters(query.label).map((l) => l.split("="));
      const audience = policy.audience(callerOf(c), env.id);
      const going = mirror
        .list()
        .filter(
          (v) =>
            !users.has(v.name) &&
            filters.every(([k = "", ...rest]) =>
              rest.length ? v.labels[k] === rest.join("=") : v.labels[k] !== undefined,
            ),
        )
        .map((v) => volumeItem(v, audience, env));
      const cached = cachedVolumeSizes(env);
      const size = cached ? going.reduce((n, v) => n + Math.max(0, cached.sizes[v.name] ?? 0), 0) : null;
      return c.json({ volumes: going, size, sizes_at: cached?.at ?? null });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/volumes/_prune",
      tag: "volumes",
      policy: "volumes:prune",
      summary:
        "Remove every volume no container uses (?label=k or k=v narrows it); says what went and the space freed",
      params: EnvParam,
      query: pruneQuery,
      responses: {
        200: json(z.object({ deleted: z.array(z.string()), space_reclaimed: z.number() }), "Pruned"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const labels = labelFilters(query.label);
      noteAudit(c, { target: { labels: labels.join(" ") } });
      const filters: Record<string, string[]> = {};
      if (labels.length) filters.label = labels;
      // Engines from API 1.42 prune only anonymous volumes unless told: the preview promised all unused.
      if (Number(env.engine.facts?.api_version ?? "0") >= 1.42) filters.all = ["true"];
      const q = Object.keys(filters).length ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : "";
      // The engine deletes every file of each volume it prunes before it answers.
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      const answer = await env.engine.send<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>(
        "POST",
        `/volumes/prune${q}`,
        { timeoutMs: PRUNE_TIMEOUT_MS },
      );
      await listOf(env, VOLUMES).refresh();
      return c.json({ deleted: answer?.VolumesDeleted ?? [], space_reclaimed: answer?.SpaceReclaimed ?? 0 });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/{name}",
      tag: "volumes",
      policy: "volumes:read",
      summary: "Inspect a volume (the engine's own answer)",
      params: VolumeParams,
      responses: { 200: json(z.record(z.string(), z.unknown()), "Inspect"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      await ownedVolume(env, policy, callerOf(c), params.name, "volumes:read");
      return c.json(await env.engine.get<object>(`/volumes/${encodeURIComponent(params.name)}`));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/envs/{env}/volumes/{name}",
      tag: "volumes",
      policy: "volumes:operate",
      summary:
        "Remove a volume (?force=true: even if its driver fails to); one in use is refused with who uses it",
      params: VolumeParams,
      query: z.object({ force: queryFlag }),
      responses: { 204: "Removed", 409: errorResponse("In use"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      await ownedVolume(env, policy, caller, params.name, "volumes:operate");
      // The engine deletes every file of the volume before it answers.
      allowEngineWait(c, REMOVAL_TIMEOUT_MS);
      await removeVolume(env, caller, params.name, query.force);
      await listOf(env, VOLUMES).refresh();
      return c.body(null, 204);
    },
  );

  /** Removes a volume; one in use is refused with who uses it. */
  const removeVolume = async (env: Environment, caller: Caller, name: string, force = false) => {
    try {
      await env.engine.send("DELETE", `/volumes/${encodeURIComponent(name)}${force ? "?force=1" : ""}`, {
        timeoutMs: REMOVAL_TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof EngineError && err.status === 409) throw inUse(env, caller, name);
      throw err;
    }
  };

  const inUse = (env: Environment, caller: Caller, name: string) => {
    const who = usersText(env, policy, caller, name);
    return new ApiError(
      409,
      "in_use",
      who
        ? `volume "${name}" is used by containers ${who}: remove them first`
        : `volume "${name}" is in use (a backup, restore or browse of it is running now)`,
    );
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/{name}/files",
      tag: "volumes",
      policy: "volumes:files",
      summary: `One directory of a volume (?path=/a/b), read-only: at most ${MAX_LISTED} entries; \`capped\` says when there are more`,
      params: VolumeParams,
      query: PathQuery,
      responses: {
        200: json(
          z.object({
            path: z.string(),
            entries: z.array(
              z.object({
                name: z.string(),
                type: z.string(),
                size: z.number(),
                mode: z.number(),
                mtime: z.number(),
                link: z.optional(z.string()),
              }),
            ),
            capped: z.boolean(),
          }),
          "Listing",
        ),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      noteAudit(c, { target: { volume: params.name, path: query.path } });
      const view = await ownedVolume(env, policy, caller, params.name, "volumes:files");
      mountable(caller, view);
      return c.json(await listDirectory(env.engine, params.name, query.path));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/{name}/file",
      tag: "volumes",
      policy: "volumes:files",
      summary: "Download one regular file of a volume (?path=/a/b/file), streamed",
      params: VolumeParams,
      query: PathQuery,
      responses: { 200: "The file's bytes", ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      noteAudit(c, { target: { volume: params.name, path: query.path } });
      const view = await ownedVolume(env, policy, caller, params.name, "volumes:files");
      mountable(caller, view);
      const file = await readFile(env.engine, params.name, query.path);
      return new Response(file.body, {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(file.size),
          "content-disposition": downloadName(file.name),
          "cache-control": "no-store",
        },
      });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/volumes/{name}/backup",
      tag: "volumes",
      policy: "volumes:files",
      summary: "The whole volume as a .tar.gz download, compressed as it streams (nothing is held in memory)",
      params: VolumeParams,
      responses: { 200: "A gzip-compressed tar of the volume's root", ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      noteAudit(c, { target: { volume: params.name } });
      const view = await ownedVolume(env, policy, caller, params.name, "volumes:files");
      mountable(caller, view);
      const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      return new Response(await backup(env.engine, params.name, c.req.raw.signal), {
        headers: {
          "content-type": "application/gzip",
          "content-disposition": downloadName(`${params.name}-${stamp}.tar.gz`),
          "cache-control": "no-store",
        },
      });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/volumes/{name}/restore",
      tag: "volumes",
      policy: "volumes:operate",
      summary:
        "Restore a .tar.gz (or .tar) sent as the raw request body into the volume (?create=true makes it if missing; ?replace=true empties it first), checked entry by entry and read back to verify",
      params: VolumeParams,
      query: z.object({ create: queryFlag, replace: queryFlag }),
      upload: { contentType: "application/gzip", maxBytes: MAX_UPLOAD_BYTES },
      responses: {
        200: json(
          z.object({
            volume: z.string(),
            created: z.boolean(),
            files: z.number(),
            directories: z.number(),
            symlinks: z.number(),
            bytes: z.number(),
            verified: z.boolean(),
          }),
          "Restored and verified",
        ),
        403: errorResponse("Refused by engine safety"),
        409: errorResponse("In use by running containers"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const caller = callerOf(c);
      const { name } = params;
      noteAudit(c, { target: { volume: name, replace: String(query.replace) } });
      let created = false;
      // Missing at the engine, not merely hidden: the engine's create of a name it has answers with
      // the volume it has, which may be another team's.
      const exists = await volumeExists(env, name);
      if (!exists && !query.create) throw noVolume(env, name);
      const view = exists ? await ownedVolume(env, policy, caller, name, "volumes:operate") : undefined;
      if (view) {
        mountable(caller, view);
        const running = usersText(env, policy, caller, name, true);
        if (running)
          throw new ApiError(
            409,
            "in_use",
            `volume "${name}" is used by running containers ${running}: stop them before restoring into it`,
          );
      }
      const upload = c.req.raw.body;
      if (!upload) throw new ApiError(400, "invalid_request", "send the .tar.gz as the request body");
      if (view) {
        if (query.replace) await recreate(env, caller, view);
      } else {
        // Made as a create by this caller would make it: local, no options, the caller's team.
        await createVolume(env.engine, { Name: name, Labels: withTeamLabel(caller, policy, env.id, {}) });
        // Made by someone else in between, the engine handed that one over: it must be the caller's.
        await ownedVolume(env, policy, caller, name, "volumes:operate");
        created = true;
      }
      try {
        const restored = await restore(env.engine, name, upload, MAX_UPLOAD_BYTES);
        return c.json({ volume: name, created, ...restored });
      } catch (err) {
        // A new volume that did not fill is not left half made.
        if (created) await env.engine.send("DELETE", `/volumes/${encodeURIComponent(name)}`).catch(() => {});
        throw err;
      } finally {
        await listOf(env, VOLUMES)
          .refresh()
          .catch(() => {});
      }
    },
  );

  /** Empties a volume by making it again as it was: no container may use it meanwhile. */
  const recreate = async (env: Environment, caller: Caller, view: VolumeView) => {
    await removeVolume(env, caller, view.name);
    await createVolume(env.engine, {
      Name: view.name,
      Driver: view.driver,
      DriverOpts: view.options,
      Labels: view.labels,
    });
  };
}
