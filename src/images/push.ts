import type { Engine } from "../engine/engine.ts";
import { followProgress } from "../jobs/engine-progress.ts";
import type { JobHandle } from "../jobs/jobs.ts";
import { type ImageReference, repositoryName } from "../registries/reference.ts";

/**
 * Pushes one local tag to its registry, each layer a step of the job. `auth` is the engine's
 * X-Registry-Auth, which it wants on every push, even to a registry that asks for no login.
 */
export async function pushImage(
  engine: Engine,
  ref: ImageReference,
  job: JobHandle,
  auth: string,
): Promise<void> {
  const tag = encodeURIComponent(ref.tag ?? "latest");
  const answer = await engine.open("POST", `/images/${repositoryName(ref)}/push?tag=${tag}`, {
    headers: { "X-Registry-Auth": auth },
    signal: job.signal,
  });
  if (answer.body) await followProgress(answer.body, job);
}
