import type { ListKind } from "../envs/list-mirror.ts";
import { type EngineVolume, fromEngine, type VolumeView } from "./view.ts";

/** The engine's volumes, kept as a whole list: every "volume" event reads it again. */
export const VOLUMES: ListKind<VolumeView> = {
  name: "volumes",
  eventType: "volume",
  capability: "volumes",
  async read(engine) {
    const answer = await engine.get<{ Volumes?: EngineVolume[] | null }>("/volumes");
    return (answer.Volumes ?? []).map(fromEngine);
  },
};
