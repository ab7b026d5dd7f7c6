import type { Engine } from "../engine/engine.ts";
import { followProgress } from "../jobs/engine-progress.ts";
import type { JobHandle } from "../jobs/jobs.ts";
import type { RegistryCredentials } from "../registries/credentials.ts";
import { formatReference, type ImageReference, repositoryName } from "../registries/reference.ts";

/**
 * Pulls an image into the engine, each layer a step of the job, with the login of its registry if
 * the panel has one. The engine reports a failed pull (a wrong password, a missing tag) inside a
 * 200 answer: followProgress turns it into an error.
 */
export async function pullImage(
  engine: Engine,
  ref: ImageReference,
  job: JobHandle,
  credentials?: RegistryCredentials,
): Promise<string> {
  const query = new URLSearchParams({ fromImage: repositoryName(ref) });
  query.set("tag", ref.digest ?? ref.tag ?? "latest");
  const auth = credentials?.engineAuthFor(ref);
  const answer = await engine.open("POST", `/images/create?${query}`, {
    headers: auth ? { "X-Registry-Auth": auth } : {},
    signal: job.signal,
  });
  if (answer.body) await followProgress(answer.body, job);
  return formatReference(ref);
}
