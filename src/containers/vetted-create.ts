import type { Caller, Policy } from "../auth/policy.ts";
import { TEAM_LABEL } from "../auth/teams.ts";
import { EngineError } from "../engine/errors.ts";
import type { Environment } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import { safetyContext } from "../safety/context.ts";
import type { ContainerCreate } from "../safety/create-schema.ts";
import { vetCreate } from "../safety/rules.ts";
import type { EngineSafety } from "../settings/engine-safety.ts";

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
  return { config: { ...config, Labels: withTeamLabel(policy, env, caller, config.Labels) }, volumes };
}

/** Makes the volumes a checked body needs, each with the team of the container that will use them. */
export async function createVolumes(env: Environment, checked: CheckedCreate): Promise<void> {
  const team = checked.config.Labels?.[TEAM_LABEL];
  for (const volume of checked.volumes) {
    // A volume the engine would make on its own carries no team, and any team could then use it.
    await env.engine.send("POST", "/volumes/create", {
      body: { Name: volume, Labels: team ? { [TEAM_LABEL]: team } : {} },
    });
  }
}

/**
 * A non-admin's new container must belong to one of its teams, or nobody (the creator included)
 * could see it afterwards: the team label is added when the caller is in exactly one team.
 */
function withTeamLabel(
  policy: Policy,
  env: Environment,
  caller: Caller,
  labels: unknown,
): Record<string, string> {
  const given = labels && typeof labels === "object" ? (labels as Record<string, string>) : {};
  if (policy.audience(caller, env.id).key === "*") return given;
  const teams = policy.teamsOf(caller);
  const team = given[TEAM_LABEL];
  if (team !== undefined) {
    if (!teams.includes(team)) throw new ApiError(403, "forbidden", `you are not in team "${team}"`);
    return given;
  }
  if (teams.length === 1) return { ...given, [TEAM_LABEL]: teams[0]! };
  throw teams.length === 0
    ? new ApiError(403, "forbidden", "you are in no team: an admin has to add you to one first")
    : new ApiError(
        400,
        "invalid_request",
        `Labels: set "${TEAM_LABEL}" to one of your teams (${teams.join(", ")})`,
      );
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
