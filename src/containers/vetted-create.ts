import type { Caller, Policy } from "../auth/policy.ts";
import { withTeamLabel } from "../auth/team-label.ts";
import { EngineError } from "../engine/errors.ts";
import type { Environment } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import { safetyContext } from "../safety/context.ts";
import type { ContainerCreate } from "../safety/create-schema.ts";
import { vetCreate } from "../safety/rules.ts";
import type { EngineSafety } from "../settings/engine-safety.ts";
import { createVolume, teamOnly } from "../volumes/create.ts";

/** A create body as the engine may get it from this caller, and the volumes to make first. */
export interface CheckedCreate {
  config: Omit<ContainerCreate, "name">;
  /** named volumes the body uses that do not exist yet, made with the caller's team label */
  volumes: string[];
}

/**
 * The one gate of every container the panel makes for a caller — a create, a recreate: for a
 * non-admin, engine safety decides every field (src/safety/rules.ts), and the container gets the
 * caller's team label so that its maker can see it afterwards.
 */
export async function checkCreate(
  env: Environment,
  policy: Policy,
  caller: Caller,
  safety: EngineSafety,
  body: ContainerCreate,
): Promise<CheckedCreate> {
  const { name: _name, ...spec } = body;
  let config: Omit<ContainerCreate, "name"> = spec;
  let volumes: string[] = [];
  if (caller.user.role !== "admin") {
    const vetted = await vetCreate(body, safetyContext(env, policy, caller, safety));
    if (vetted.problems.length)
      throw new ApiError(403, "engine_safety", `${vetted.problems.join("; ")} (ask an admin)`);
    const { name: _sameName, ...checked } = vetted.body;
    config = checked;
    volumes = vetted.volumesToCreate;
  }
  return { config: { ...config, Labels: withTeamLabel(caller, policy, env.id, config.Labels) }, volumes };
}

/** Makes the volumes a checked body needs, each with the team of the container that will use them. */
export async function createVolumes(env: Environment, checked: CheckedCreate): Promise<void> {
  // A volume the engine would make on its own carries no team, and any team could then use it.
  const Labels = teamOnly(checked.config.Labels ?? {});
  for (const volume of checked.volumes) await createVolume(env.engine, { Name: volume, Labels });
}

/**
 * The engine's 409 for a name in use quotes the full id of the container holding it, which may be
 * another team's: the caller learns only that the name is taken.
 */
export function nameTaken(err: unknown, name: string | undefined): unknown {
  if (err instanceof EngineError && err.status === 409 && /already in use/i.test(err.message))
    return new ApiError(409, "name_taken", `the name "${name ?? ""}" is already in use`);
  return err;
}
