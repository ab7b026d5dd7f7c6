import type { ImageReference } from "./reference.ts";

/**
 * Where pulls, pushes and update checks find a registry's login, without asking the caller again:
 * the registries store (src/registries/) answers; the login itself never leaves the panel except
 * toward its own registry.
 */
export interface RegistryCredentials {
  /** the X-Registry-Auth header the engine wants for this image's registry, or undefined */
  engineAuthFor(ref: ImageReference): string | undefined;
}

/** The engine's X-Registry-Auth: base64url of the JSON AuthConfig. */
export function engineAuthHeader(auth: {
  username: string;
  password: string;
  serveraddress: string;
}): string {
  return Buffer.from(JSON.stringify(auth)).toString("base64url");
}
