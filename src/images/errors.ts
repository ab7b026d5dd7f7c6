import { EngineError } from "../engine/errors.ts";
import { ApiError } from "../http/errors.ts";
import { formatReference, type ImageReference } from "../registries/reference.ts";

/**
 * What a registry's refusal means to a person, from the engine's words (which quote the registry's
 * own): a tag that is not there, a login it wants, a registry it cannot reach.
 */
export function registryProblem(ref: ImageReference, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const name = formatReference(ref);
  if (/manifest unknown|manifest for .* not found|repository does not exist|name unknown/i.test(message))
    return new Error(`${name} not found in the registry`);
  if (/unauthorized|authentication required|no basic auth|denied|forbidden/i.test(message))
    return new Error(`${ref.registry} refused: ${message} (check the registry's login)`);
  if (/connection refused|no such host|dial tcp|i\/o timeout|server gave HTTP response/i.test(message))
    return new Error(`${ref.registry} cannot be reached: ${message}`);
  return err instanceof Error ? err : new Error(message);
}

/**
 * What the engine says of bytes it could not read (not a tar, a tar without an image): the
 * uploader's mistake, a 400, though the engine answers it with a 500.
 */
export function uploadProblem(what: string, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineError && err.unreachable) return new ApiError(503, "engine_unreachable", message);
  return new ApiError(400, "bad_upload", `the engine could not ${what}: ${message}`);
}
