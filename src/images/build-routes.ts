import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Engine } from "../engine/engine.ts";
import { type Environments, listOf } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, json, queryFlag } from "../http/schemas.ts";
import { MAX_UPLOAD_BYTES, type Upload, uploadOf } from "../http/upload.ts";
import { jobEnded, jobItem } from "../jobs/ended.ts";
import { followProgress } from "../jobs/engine-progress.ts";
import type { Jobs } from "../jobs/jobs.ts";
import { jobOwner } from "../jobs/routes.ts";
import { formatReference, type ImageReference } from "../registries/reference.ts";
import { uploadProblem } from "./errors.ts";
import { IMAGES } from "./kind.ts";
import { Labels, queryList, TagReference } from "./schemas.ts";
import { tarOf } from "./tar.ts";
import { JobAnswer } from "./transfer-routes.ts";

/** A path inside a build context: relative, plain components, nothing that climbs out. */
const ContextPath = z
  .string()
  .check(
    z.maxLength(100),
    z.regex(
      /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
      "a relative path of letters, digits, . _ - (no ..)",
    ),
  );
const ArgName = z
  .string()
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "a build argument's name: letters, digits, _"));
const BuildArgs = z
  .record(ArgName, z.string().check(z.maxLength(4096)))
  .check(z.refine((r) => Object.keys(r).length <= 32, "at most 32 build arguments"));
const Tags = z.array(TagReference).check(z.maxLength(8));

const MAX_PASTED = 1024 * 1024;
const BuildBody = z
  .object({
    dockerfile: z.string().check(z.minLength(1), z.maxLength(64 * 1024)),
    /** small text files beside it, for COPY */
    files: z._default(
      z
        .array(z.object({ path: ContextPath, content: z.string().check(z.maxLength(MAX_PASTED)) }))
        .check(z.maxLength(32)),
      [],
    ),
    tags: z._default(Tags, []),
    buildargs: z._default(BuildArgs, {}),
    labels: z._default(Labels, {}),
    nocache: z._default(z.boolean(), false),
  })
  .check(
    z.refine(
      (b) => b.files.reduce((n, f) => n + f.content.length, 0) <= MAX_PASTED,
      "files: at most 1 MiB in all",
    ),
    z.refine(
      (b) => b.files.every((f) => f.path !== "Dockerfile"),
      "files: the Dockerfile is given on its own",
    ),
  );

/** `K=V`, as `--build-arg` and `--label` take them on a command line. */
const pairOf = (key: z.ZodMiniType<string>) =>
  z.pipe(
    z.string().check(z.maxLength(4096), z.regex(/^[^=]+=/, "KEY=value")),
    z.transform((s, ctx): [string, string] => {
      const at = s.indexOf("=");
      const k = s.slice(0, at);
      if (!z.safeParse(key, k).success) {
        ctx.issues.push({ code: "custom", input: s, message: `"${k}" is not a valid name` });
        return z.NEVER;
      }
      return [k, s.slice(at + 1)];
    }),
  );

// Strict: an option the panel does not pass (networkmode, extrahosts…) is a 400 naming it, not dropped in silence.
const UploadQuery = z.strictObject({
  tag: queryList(TagReference, 8),
  dockerfile: z.optional(ContextPath),
  buildarg: queryList(pairOf(ArgName), 32),
  label: queryList(pairOf(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/))), 32),
  nocache: queryFlag,
});

interface BuildOptions {
  tags: ImageReference[];
  dockerfile?: string | undefined;
  buildargs: Record<string, string>;
  labels: Record<string, string>;
  nocache: boolean;
}

/**
 * The engine's build options the panel passes, and only those: tags, the Dockerfile's path, build
 * arguments, labels, no cache. Nothing else reaches the engine (no network mode, extra hosts,
 * platform, cgroup or memory settings), whatever the request held.
 */
function buildQuery(o: BuildOptions): string {
  const q = new URLSearchParams();
  for (const t of o.tags) q.append("t", formatReference(t));
  if (o.dockerfile) q.set("dockerfile", o.dockerfile);
  q.set("buildargs", JSON.stringify(o.buildargs));
  q.set("labels", JSON.stringify(o.labels));
  if (o.nocache) q.set("nocache", "1");
  // Intermediate containers go, even when a step fails.
  q.set("rm", "1");
  q.set("forcerm", "1");
  return q.toString();
}

/** Runs a build: the output as the job's lines, the image made as its result. */
async function build(
  engine: Engine,
  context: Uint8Array | Upload,
  options: BuildOptions,
  handle: Parameters<Parameters<Jobs["start"]>[3]>[0],
): Promise<string | undefined> {
  const answer = await engine.open("POST", `/build?${buildQuery(options)}`, {
    body: context instanceof Uint8Array ? context : context.body,
    headers: { "content-type": "application/x-tar" },
    signal: handle.signal,
  });
  return answer.body ? await followProgress(answer.body, handle) : undefined;
}

/**
 * Builds, admins only: a build runs its Dockerfile's RUN steps with the network and whatever
 * build arguments it is given, which is as much as running a container would reach.
 */
export function imageBuildRoutes(
  routes: RouteTable,
  { envs, policy, jobs }: { envs: Environments; policy: Policy; jobs: Jobs },
): void {
  const start = (
    envId: string,
    caller: ReturnType<typeof callerOf>,
    options: BuildOptions,
    context: Uint8Array | Upload,
  ) => {
    const env = envFor(envs, envId);
    const title = options.tags.length ? options.tags.map(formatReference).join(", ") : "untagged build";
    return jobs.start(env.id, { kind: "build", title }, jobOwner(policy, caller), async (handle) => {
      try {
        return await build(env.engine, context, options, handle);
      } finally {
        await listOf(env, IMAGES)
          .refresh()
          .catch(() => {});
      }
    });
  };

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/build",
      tag: "images",
      policy: "images:manage",
      summary:
        "Build from a pasted Dockerfile (and small text `files` beside it, for COPY): 202 with the job at once; the output streams as its lines, the image id is its result",
      params: EnvParam,
      body: BuildBody,
      responses: { 202: json(JobAnswer, "Started"), ...commonErrors },
    },
    (c, { params, body }) => {
      const encode = (s: string) => new TextEncoder().encode(s);
      const context = tarOf([
        { name: "Dockerfile", data: encode(body.dockerfile) },
        ...body.files.map((f) => ({ name: f.path, data: encode(f.content) })),
      ]);
      noteAudit(c, { target: { tags: body.tags.map(formatReference).join(",") } });
      const { tags, buildargs, labels, nocache } = body;
      const job = start(params.env, callerOf(c), { tags, buildargs, labels, nocache }, context);
      return c.json({ job: jobItem(job) }, 202);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/images/build/upload",
      tag: "images",
      policy: "images:manage",
      summary:
        "Build from an uploaded context tar, streamed into the engine (?tag= repeatable, ?dockerfile=path, ?buildarg=K=V and ?label=K=V repeatable, ?nocache=1): 202 with the job once the context is sent",
      params: EnvParam,
      query: UploadQuery,
      upload: { contentType: "application/x-tar", maxBytes: MAX_UPLOAD_BYTES },
      responses: { 202: json(JobAnswer, "Started"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const upload = uploadOf(c, MAX_UPLOAD_BYTES);
      const options: BuildOptions = {
        tags: query.tag,
        dockerfile: query.dockerfile,
        buildargs: Object.fromEntries(query.buildarg),
        labels: Object.fromEntries(query.label),
        nocache: query.nocache,
      };
      noteAudit(c, { target: { tags: options.tags.map(formatReference).join(",") } });
      const job = start(params.env, callerOf(c), options, upload);
      // The request is the context: it is answered once the engine has read it (or the build ended).
      const ended = await Promise.race([
        upload.read.then(
          () => undefined,
          (err) => err,
        ),
        jobEnded(jobs, job).then(() => undefined),
      ]);
      if (ended) throw uploadProblem("read the build context", ended);
      if (job.state === "failed") throw uploadProblem("build", new Error(job.error ?? "failed"));
      return c.json({ job: jobItem(job) }, 202);
    },
  );
}
