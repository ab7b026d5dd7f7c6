import { TEAM_LABEL } from "../auth/teams.ts";
import type { Engine } from "../engine/engine.ts";

export interface NewVolume {
  Name: string;
  Driver?: string | null;
  DriverOpts?: Record<string, string> | null;
  Labels: Record<string, string>;
}

/**
 * Makes a volume, labelled as given: a volume the engine would make on its own (a container's
 * mount of a name that does not exist yet) carries no team, and any team could then use it. The
 * body is made from checked fields only, never the caller's object.
 */
export async function createVolume(engine: Engine, volume: NewVolume): Promise<void> {
  await engine.send("POST", "/volumes/create", {
    body: {
      Name: volume.Name,
      ...(volume.Driver ? { Driver: volume.Driver } : {}),
      ...(volume.DriverOpts ? { DriverOpts: volume.DriverOpts } : {}),
      Labels: volume.Labels,
    },
  });
}

/** The labels of a volume made for a team's use: its team, if any. */
export const teamOnly = (labels: Record<string, string>): Record<string, string> =>
  labels[TEAM_LABEL] ? { [TEAM_LABEL]: labels[TEAM_LABEL] } : {};
