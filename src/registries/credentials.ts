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

/**
 * The engine's X-Registry-Auth: base64url of the JSON AuthConfig, padded — Docker 20.10 decodes it
 * with Go's base64.URLEncoding, which refuses the last block without its "=", and then pulls
 * without any login at all.
 */
export function engineAuthHeader(auth: {
  username: string;
  password: string;
  serveraddress: string;
}): string {
  return Buffer.from(JSON.stringify(auth)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}
