import type { SettingsStore } from "../settings/settings-store.ts";

/** How often the panel asks registries whether the images in use have newer ones. */
export interface UpdateSettings {
  /** seconds between scheduled checks; 0: only on demand */
  interval_seconds: number;
}

const KEY = "updates.check";
/** Every 6 hours: a registry sees one HEAD per image tag in use, four times a day. */
export const DEFAULT_UPDATE_SETTINGS: UpdateSettings = { interval_seconds: 6 * 3600 };
/** The shortest schedule an admin may set (tests use it); shorter would hammer registries. */
export const MIN_INTERVAL_SECONDS = 10;

export function readUpdateSettings(settings: SettingsStore): UpdateSettings {
  const saved = settings.read(KEY) as Partial<UpdateSettings> | undefined;
  const interval = saved?.interval_seconds;
  return typeof interval === "number" && (interval === 0 || interval >= MIN_INTERVAL_SECONDS)
    ? { interval_seconds: interval }
    : DEFAULT_UPDATE_SETTINGS;
}

export function writeUpdateSettings(settings: SettingsStore, value: UpdateSettings): void {
  settings.write(KEY, value);
}
