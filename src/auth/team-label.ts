import { ApiError } from "../http/errors.ts";
import { appOf, VESLA_APP_LABEL } from "../protocol/apps.ts";
import type { Caller, Policy } from "./policy.ts";
import { TEAM_LABEL } from "./teams.ts";

/**
 * The labels of something a caller creates (a container, a volume): a non-admin's must belong to
 * one of its teams, or nobody (the creator included) could see it afterwards, so the team label is
 * added when the caller is in exactly one team. Who sees the whole engine labels as it likes.
 */
export function withTeamLabel(
  caller: Caller,
  policy: Policy,
  envId: string,
  labels: unknown,
): Record<string, string> {
  const given = labels && typeof labels === "object" ? (labels as Record<string, string>) : {};
  if (policy.audience(caller, envId).key === "*") return given;
  // Labelling a container as another team's app would slip it into that team's views and actions.
  const app = appOf({ labels: given });
  if (app !== undefined && !policy.ownsApp(caller, envId, app))
    throw new ApiError(403, "forbidden", `${VESLA_APP_LABEL}: the app "${app}" is not one of your teams'`);
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
