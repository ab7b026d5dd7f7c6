import type { SettingsStore } from "./settings-store.ts";

/**
 * What non-admins may ask an engine for. Whoever can start a privileged container, mount the
 * host's / or join its PID namespace is root on that host, so all of it is off until an admin
 * turns it on (Portainer calls these its security settings).
 */
export interface EngineSafety {
  allow_privileged: boolean;
  allow_host_namespaces: boolean;
  allow_devices: boolean;
  allow_capabilities: boolean;
  /** host paths non-admins may bind-mount, each exactly (src/safety/host-paths.ts says why); empty: none */
  allowed_bind_paths: string[];
}

const ENGINE_SAFETY_KEY = "security.engine";

export const DEFAULT_ENGINE_SAFETY: EngineSafety = {
  allow_privileged: false,
  allow_host_namespaces: false,
  allow_devices: false,
  allow_capabilities: false,
  allowed_bind_paths: [],
};

/** The saved settings; fields never saved keep their (closed) defaults. */
export function readEngineSafety(settings: SettingsStore): EngineSafety {
  const saved = settings.read(ENGINE_SAFETY_KEY);
  return { ...DEFAULT_ENGINE_SAFETY, ...(saved && typeof saved === "object" ? saved : {}) };
}

export function writeEngineSafety(settings: SettingsStore, value: EngineSafety): void {
  settings.write(ENGINE_SAFETY_KEY, value);
}
