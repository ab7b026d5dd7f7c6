/** A volume as the engine's list gives it (GET /volumes), as the panel keeps it. */
export interface VolumeView {
  /** the name: volumes have no other id */
  id: string;
  name: string;
  driver: string;
  mountpoint: string;
  scope: string;
  created: string | null;
  labels: Record<string, string>;
  options: Record<string, string>;
}

export interface EngineVolume {
  Name: string;
  Driver?: string;
  Mountpoint?: string;
  Scope?: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
}

export function fromEngine(v: EngineVolume): VolumeView {
  return {
    id: v.Name,
    name: v.Name,
    driver: v.Driver ?? "",
    mountpoint: v.Mountpoint ?? "",
    scope: v.Scope ?? "",
    created: v.CreatedAt || null,
    labels: v.Labels ?? {},
    options: v.Options ?? {},
  };
}

/**
 * The little of a volume that ownership depends on: its team label alone (a name assigned to a
 * team is a container's name; an empty one matches none).
 */
export const asOwned = (v: { labels: Record<string, string> }) => ({ name: "", labels: v.labels });
