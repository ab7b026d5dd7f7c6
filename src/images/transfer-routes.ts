import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { type Environments, listOf } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json } from "../http/schemas.ts";
import { MAX_UPLOAD_BYTES, uploadOf } from "../http/upload.ts";
import { jobEnded, jobItem } from "../jobs/ended.ts";
import { followProgress } from "../jobs/engine-progress.ts";
import type { JobHandle, Jobs } from "../jobs/jobs.ts";
import { jobOwner } from "../jobs/routes.ts";
import { engineAuthHeader, type RegistryCredentials } from "../registries/credentials.ts";
import { formatReference, repositoryName } from "../registries/reference.ts";
import { registryProblem, uploadProblem } from "./errors.ts";
import { IMAGES } from "./kind.ts";
import { pullImage } from "./pull.ts";
import { pushImage } from "./push.ts";
import { imagesOf } from "./routes.ts";
import { ImageId, queryList, Reference, TagReference } from "./schemas.ts";

/** A job in an answer: the same object `jobs:<env>` carries (docs/protocol.md). */
export const JobAnswer = z.object({ job: z.record(z.string(), z.unknown()) });

const TAR = "application/x-tar";

/** An image named for export: its id, or one of its references. */
const ExportName = z.union([ImageId, Reference]);

/** For a registry the panel has no login for. */
const NO_LOGIN = engineAuthHeader({ username: "", password: "", serveraddress: "" });

/**
 * Images moved between the engine and elsewhere: pulled from and pushed to registries (jobs the
 * caller follows on `jobs:<env>`), exported as a tar, imported or loaded from an uploaded one.
 */
export function imageTransferRoutes(
  routes: RouteTable,
  {
    envs,
    policy,
    jobs,
    registryCredentials,
  }: { envs: Environments; policy: Policy; jobs: Jobs; registryCredentials?: RegistryCredentials },
): void {
  const owner = (c: AppContext) => jobOwner(policy, callerOf(c));

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/pull",
      tag: "images",
      policy: "images:pull",
      summary:
        "Pull an image (`reference`: repo[:tag|@digest]) with the panel's login for its registry, if any: answers 202 with the job at once; each layer's progress is a step of it on `jobs:<env>`",
      params: EnvParam,
      body: z.object({ reference: Reference }),
      responses: { 202: json(JobAnswer, "Started"), ...commonErrors },
    },
    (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const ref = body.reference;
      noteAudit(c, { target: { reference: formatReference(ref) } });
      const job = jobs.start(
        env.id,
        { kind: "pull", title: formatReference(ref) },
        owner(c),
        async (handle) => {
          try {
            return await pullImage(env.engine, ref, handle, registryCredentials);
          } catch (err) {
            throw handle.signal.aborted ? err : registryProblem(ref, err);
          } finally {
            await listOf(env, IMAGES)
              .refresh()
              .catch(() => {});
          }
        },
      );
      return c.json({ job: jobItem(job) }, 202);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/push",
      tag: "images",
      policy: "images:manage",
      summary:
        "Push a local tag (`reference`: registry/repo:tag) to its registry, with the panel's login for it: 202 with the job; layers are its steps",
      params: EnvParam,
      body: z.object({ reference: TagReference }),
      responses: {
        202: json(JobAnswer, "Started"),
        ...commonErrors,
        404: errorResponse("No such local tag"),
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      const ref = body.reference;
      const name = formatReference(ref);
      const mirror = await imagesOf(env);
      const tagged = () => mirror.list().some((i) => i.tags.includes(name));
      // Tagged a moment ago (by the CLI, say): the mirror may not have read that event yet.
      if (!tagged()) await mirror.refresh();
      if (!tagged()) throw new ApiError(404, "not_found", `no local image is tagged ${name}: tag one first`);
      noteAudit(c, { target: { reference: name } });
      const job = jobs.start(env.id, { kind: "push", title: name }, owner(c), (handle) =>
        pushImage(env.engine, ref, handle, registryCredentials?.engineAuthFor(ref) ?? NO_LOGIN).then(
          () => name,
          (err) => {
            throw handle.signal.aborted ? err : registryProblem(ref, err);
          },
        ),
      );
      return c.json({ job: jobItem(job) }, 202);
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/images/get",
      tag: "images",
      policy: "images:pull",
      summary:
        "Export images as one tar (`docker save`), streamed: ?names=<id or reference>, repeatable (up to 16)",
      params: EnvParam,
      query: z.object({ names: queryList(ExportName, 16) }),
      responses: { 200: "The tar (application/x-tar)", ...commonErrors },
    },
    async (_c, { params, query }) => {
      const env = envFor(envs, params.env);
      if (!query.names.length) throw new ApiError(400, "invalid_request", "names: name at least one image");
      const names = query.names.map((n) => (typeof n === "string" ? n : formatReference(n)));
      const engineQuery = new URLSearchParams();
      for (const n of names) engineQuery.append("names", n);
      const answer = await env.engine.open("GET", `/images/get?${engineQuery}`);
      const file = `${names[0]!
        .replace(/^sha256:/, "")
        .replace(/[^A-Za-z0-9_.-]+/g, "_")
        .slice(0, 100)}.tar`;
      return new Response(answer.body, {
        headers: { "content-type": TAR, "content-disposition": `attachment; filename="${file}"` },
      });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/import",
      tag: "images",
      policy: "images:manage",
      summary:
        "Import a file system tar as a one-layer image (`docker import`), streamed into the engine; ?reference=repo:tag names it. Answers when it is made, with its job",
      params: EnvParam,
      query: z.object({ reference: z.optional(TagReference) }),
      upload: { contentType: TAR, maxBytes: MAX_UPLOAD_BYTES },
      responses: { 201: json(JobAnswer, "Imported (the job's result: the image id)"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      const upload = uploadOf(c, MAX_UPLOAD_BYTES);
      const ref = query.reference;
      const engineQuery = new URLSearchParams({ fromSrc: "-" });
      if (ref) {
        engineQuery.set("repo", repositoryName(ref));
        engineQuery.set("tag", ref.tag ?? "latest");
      }
      const title = ref ? formatReference(ref) : "uploaded file system";
      noteAudit(c, { target: { reference: title } });
      const job = jobs.start(env.id, { kind: "import", title }, owner(c), async (handle) => {
        let last: string | undefined;
        const answer = await env.engine.open("POST", `/images/create?${engineQuery}`, {
          body: upload.body,
          headers: { "content-type": TAR },
          signal: handle.signal,
        });
        if (answer.body)
          await followProgress(
            answer.body,
            withLastLine(handle, (l) => (last = l)),
          );
        return last?.startsWith("sha256:") ? last : undefined;
      });
      return answerWhenEnded(c, env.id, job, "import the upload");
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/load",
      tag: "images",
      policy: "images:manage",
      summary:
        "Load images from a `docker save` tar, streamed into the engine. Answers when they are loaded, with the job (its result: the names loaded)",
      params: EnvParam,
      upload: { contentType: TAR, maxBytes: MAX_UPLOAD_BYTES },
      responses: { 201: json(JobAnswer, "Loaded"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      const upload = uploadOf(c, MAX_UPLOAD_BYTES);
      const job = jobs.start(env.id, { kind: "load", title: "uploaded images" }, owner(c), async (handle) => {
        const loaded: string[] = [];
        const answer = await env.engine.open("POST", "/images/load?quiet=0", {
          body: upload.body,
          headers: { "content-type": TAR },
          signal: handle.signal,
        });
        const seen = withLastLine(handle, (l) => {
          const m = /^Loaded image(?: ID)?: (.+)$/.exec(l.trim());
          if (m) loaded.push(m[1]!);
        });
        if (answer.body) await followProgress(answer.body, seen);
        if (!loaded.length) throw new Error("the tar held no image");
        return loaded.join(" ");
      });
      return answerWhenEnded(c, env.id, job, "load the upload");
    },
  );

  /** An upload's job has ended: 201 with it, or the engine's reason as a 400. */
  async function answerWhenEnded(
    c: AppContext,
    envId: string,
    started: ReturnType<Jobs["start"]>,
    what: string,
  ) {
    const job = await jobEnded(jobs, started);
    await listOf(envFor(envs, envId), IMAGES)
      .refresh()
      .catch(() => {});
    if (job.state !== "done") throw uploadProblem(what, new Error(job.error ?? job.state));
    return c.json({ job: jobItem(job) }, 201);
  }
}

/** The job's handle, with each line of output also shown to `see`. */
function withLastLine(handle: JobHandle, see: (line: string) => void): JobHandle {
  return {
    signal: handle.signal,
    step: (...args) => handle.step(...args),
    line: (text) => {
      see(text);
      handle.line(text);
    },
  };
}
