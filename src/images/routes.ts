import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { REMOVAL_TIMEOUT_MS } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { type Environment, type Environments, listOf } from "../envs/environments.ts";
import type { ListMirror } from "../envs/list-mirror.ts";
import { envFor } from "../envs/resolve.ts";
import { ApiError } from "../http/errors.ts";
import { allowEngineWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json, queryFlag } from "../http/schemas.ts";
import { formatReference, repositoryName } from "../registries/reference.ts";
import { IMAGES } from "./kind.ts";
import { ImageParams, LabelFilter, queryList, TagReference } from "./schemas.ts";
import { type ImageUser, imageUsers } from "./usage.ts";
import type { ImageView } from "./view.ts";

const UserSchema = z.object({ id: z.string(), name: z.string(), state: z.string() });
const ImageSchema = z.object({
  id: z.string(),
  tags: z.array(z.string()),
  digests: z.array(z.string()),
  size: z.number(),
  created: z.number(),
  labels: z.record(z.string(), z.string()),
  dangling: z.boolean(),
  containers: z.array(UserSchema),
});
const PruneSchema = z.object({
  images: z.array(z.object({ id: z.string(), tags: z.array(z.string()), size: z.number() })),
  space: z.number(),
});

type Listed = ImageView & { containers: ImageUser[] };

/** The mirror, read once if the panel has not read it yet; a list the engine refuses is a 502 saying why. */
export async function imagesOf(env: Environment): Promise<ListMirror<ImageView>> {
  const mirror = listOf(env, IMAGES);
  if (!mirror.ready) {
    await mirror.refresh().catch((err) => {
      throw new ApiError(
        502,
        "engine_error",
        `the engine did not list its images: ${(err as Error).message}`,
      );
    });
  }
  return mirror;
}

const listCache = new WeakMap<Environment, { key: string; json: Uint8Array<ArrayBuffer> }>();

/**
 * The whole list with every container that uses each image, as admins (and owners of the engine)
 * get it: made again only when images or containers changed, and kept as bytes, so that the
 * busiest read costs a lookup.
 */
function wholeList(env: Environment, mirror: ListMirror<ImageView>): Uint8Array<ArrayBuffer> {
  const key = `${mirror.version}:${env.containers.version}`;
  const cached = listCache.get(env);
  if (cached?.key === key) return cached.json;
  const users = imageUsers(env);
  const list: Listed[] = mirror.list().map((i) => ({ ...i, containers: users.get(i.id) ?? [] }));
  const fresh = { key, json: new TextEncoder().encode(JSON.stringify(list)) };
  listCache.set(env, fresh);
  return fresh.json;
}

/** The images a prune would remove: those no container uses (of any state), dangling only unless `all`. */
export function pruneCandidates(
  env: Environment,
  images: ImageView[],
  { all, labels }: { all: boolean; labels: string[] },
): ImageView[] {
  const used = imageUsers(env);
  return images.filter(
    (i) =>
      !used.has(i.id) &&
      (all || i.dangling) &&
      labels.every((l) => {
        const at = l.indexOf("=");
        return at < 0 ? l in i.labels : i.labels[l.slice(0, at)] === l.slice(at + 1);
      }),
  );
}

/** An image prune deletes the layers of every unused image before it answers. */
const IMAGE_PRUNE_TIMEOUT_MS = 300_000;
const PruneQuery = z.object({ all: queryFlag, label: queryList(LabelFilter, 16) });
const PruneBody = z.object({
  all: z._default(z.boolean(), false),
  labels: z._default(z.array(LabelFilter).check(z.maxLength(16)), []),
});

/** The engine's images: list, inspect, history, tag, remove, prune. */
export function imageRoutes(
  routes: RouteTable,
  { envs, policy }: { envs: Environments; policy: Policy },
): void {
  const image = async (env: Environment, id: string): Promise<ImageView> => {
    const mirror = await imagesOf(env);
    const full = id.startsWith("sha256:") ? id : `sha256:${id}`;
    const found = mirror.get(full) ?? mirror.list().find((i) => i.id.startsWith(full));
    if (!found) throw new ApiError(404, "not_found", `no image ${id} in environment "${env.id}"`);
    return found;
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/images",
      tag: "images",
      policy: "images:read",
      summary:
        "All images, as `docker image ls` (answered from the panel's mirror), each with the containers using it that the caller may see",
      params: EnvParam,
      responses: { 200: json(z.array(ImageSchema), "Images"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const mirror = await imagesOf(env);
      const audience = policy.audience(callerOf(c), env.id);
      if (audience.key === "*")
        return c.body(wholeList(env, mirror), 200, { "content-type": "application/json" });
      const users = imageUsers(env, audience);
      return c.json(mirror.list().map((i): Listed => ({ ...i, containers: users.get(i.id) ?? [] })));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/images/prune",
      tag: "images",
      policy: "images:manage",
      summary:
        "What a prune would remove and the space it would free (?all=1: every unused image, not only dangling ones; ?label=k or k=v, repeatable)",
      params: EnvParam,
      query: PruneQuery,
      responses: { 200: json(PruneSchema, "Preview"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const going = pruneCandidates(env, (await imagesOf(env)).list(), {
        all: query.all,
        labels: query.label,
      });
      return c.json({
        images: going.map(({ id, tags, size }) => ({ id, tags, size })),
        space: going.reduce((sum, i) => sum + i.size, 0),
      });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/prune",
      tag: "images",
      policy: "images:manage",
      summary:
        "Remove unused images: dangling ones, or every unused one (`all`), limited to `labels` (k or k=v) if given",
      params: EnvParam,
      body: PruneBody,
      responses: {
        200: json(z.object({ removed: z.array(z.string()), space: z.number() }), "Pruned"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      allowEngineWait(c, IMAGE_PRUNE_TIMEOUT_MS);
      const filters = { dangling: [body.all ? "false" : "true"], label: body.labels };
      noteAudit(c, { target: { all: String(body.all), labels: body.labels.join(",") } });
      const answer = await env.engine.send<{
        ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null;
        SpaceReclaimed?: number;
      }>("POST", `/images/prune?filters=${encodeURIComponent(JSON.stringify(filters))}`, {
        timeoutMs: IMAGE_PRUNE_TIMEOUT_MS,
      });
      await listOf(env, IMAGES).refresh();
      const removed = (answer?.ImagesDeleted ?? []).flatMap((d) => (d.Deleted ? [d.Deleted] : []));
      return c.json({ removed, space: answer?.SpaceReclaimed ?? 0 });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/images/{id}",
      tag: "images",
      policy: "images:read",
      summary: "Inspect an image (the engine's own answer)",
      params: ImageParams,
      responses: { 200: json(z.record(z.string(), z.unknown()), "Inspect"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const found = await image(env, params.id);
      return c.json(await env.engine.get<object>(`/images/${found.id}/json`));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/images/{id}/history",
      tag: "images",
      policy: "images:read",
      summary: "The image's layers, newest first: the instruction that made each and its size",
      params: ImageParams,
      responses: {
        200: json(
          z.array(
            z.object({
              id: z.string(),
              created: z.number(),
              created_by: z.string(),
              tags: z.array(z.string()),
              size: z.number(),
              comment: z.string(),
            }),
          ),
          "History",
        ),
        ...commonErrors,
      },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const found = await image(env, params.id);
      const layers = await env.engine.get<
        {
          Id: string;
          Created: number;
          CreatedBy: string;
          Tags: string[] | null;
          Size: number;
          Comment: string;
        }[]
      >(`/images/${found.id}/history`);
      return c.json(
        layers.map((l) => ({
          id: l.Id,
          created: l.Created,
          created_by: l.CreatedBy,
          tags: l.Tags ?? [],
          size: l.Size,
          comment: l.Comment,
        })),
      );
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/{id}/tag",
      tag: "images",
      policy: "images:manage",
      summary:
        "Give the image another name (`reference`: repo:tag); a name another image had moves to this one",
      params: ImageParams,
      body: z.object({ reference: TagReference }),
      responses: { 204: "Tagged", ...commonErrors },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const found = await image(env, params.id);
      const ref = body.reference;
      noteAudit(c, { target: { reference: formatReference(ref) } });
      const query = new URLSearchParams({ repo: repositoryName(ref), tag: ref.tag ?? "latest" });
      await env.engine.send("POST", `/images/${found.id}/tag?${query}`);
      await listOf(env, IMAGES).refresh();
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/envs/{env}/images/{id}",
      tag: "images",
      policy: "images:manage",
      summary:
        "Remove an image (?tag=repo:tag: only that name). One a container uses is refused (409, naming them) unless ?force=true; one a running container uses, always",
      params: ImageParams,
      query: z.object({ force: queryFlag, tag: z.optional(TagReference) }),
      responses: {
        200: json(z.object({ untagged: z.array(z.string()), deleted: z.array(z.string()) }), "Removed"),
        409: errorResponse("In use by containers (named), or by child images"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const found = await image(env, params.id);
      const users = imageUsers(env).get(found.id) ?? [];
      const tag = query.tag && formatReference(query.tag);
      if (tag && !found.tags.includes(tag))
        throw new ApiError(404, "not_found", `image ${found.id.slice(7, 19)} is not tagged ${tag}`);
      // Only the last name of an image takes the image with it; untagging one of several frees nothing.
      const goes = !tag || found.tags.length === 1;
      const running = users.filter(
        (u) => u.state === "running" || u.state === "paused" || u.state === "restarting",
      );
      const names = (list: ImageUser[]) => list.map((u) => u.name).join(", ");
      if (goes && running.length)
        throw new ApiError(
          409,
          "image_in_use",
          `${tag ?? found.tags[0] ?? found.id.slice(7, 19)} is used by running container${running.length > 1 ? "s" : ""} ${names(running)}: stop and remove ${running.length > 1 ? "them" : "it"} first`,
        );
      if (goes && users.length && !query.force)
        throw new ApiError(
          409,
          "image_in_use",
          `${tag ?? found.tags[0] ?? found.id.slice(7, 19)} is used by container${users.length > 1 ? "s" : ""} ${names(users)}: remove ${users.length > 1 ? "them" : "it"} first, or force`,
        );
      noteAudit(c, { target: { image: found.id, tags: found.tags.join(",") } });
      allowEngineWait(c, REMOVAL_TIMEOUT_MS);
      // Several names and no ?tag: the engine wants force to drop them all; the caller asked for the image.
      const force = query.force || (!tag && found.tags.length > 1) ? "?force=1" : "";
      const answer = await env.engine
        .send<{ Untagged?: string; Deleted?: string }[]>("DELETE", `/images/${tag ?? found.id}${force}`, {
          timeoutMs: REMOVAL_TIMEOUT_MS,
        })
        .catch((err) => {
          if (err instanceof EngineError && err.status === 409)
            throw new ApiError(409, "image_in_use", err.message.replace(/^conflict: /, ""));
          throw err;
        });
      await listOf(env, IMAGES).refresh();
      return c.json({
        untagged: (answer ?? []).flatMap((d) => (d.Untagged ? [d.Untagged] : [])),
        deleted: (answer ?? []).flatMap((d) => (d.Deleted ? [d.Deleted] : [])),
      });
    },
  );
}
