import { isIP } from "../safety/ip.ts";

/** Where a registry is: the origin the panel calls, and the host image references name it by. */
export interface RegistryAddress {
  /** scheme://host[:port], no path: the v2 API is at /v2/ */
  url: string;
  /** host[:port] as in `127.0.0.1:5000/app:1`; "docker.io" for Docker Hub */
  host: string;
}

export class RegistryAddressError extends Error {}

export const DOCKER_HUB_API = "https://registry-1.docker.io";
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** 127.0.0.0/8, ::1 and localhost: plain HTTP there never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/**
 * A registry address an admin typed. The panel itself fetches it (tests, browsing, update checks),
 * so it is held to one rule: HTTPS, or plain HTTP only on loopback, where nothing on the network can
 * read the login or answer in the registry's place. No path, query, fragment or user:password@ —
 * the login goes in its own fields, sealed. Without a scheme: https://, or http:// on loopback.
 */
export function parseRegistryUrl(text: string): RegistryAddress {
  const given = text.trim();
  if (given.length === 0 || given.length > 512)
    throw new RegistryAddressError("url: 1 to 512 characters, such as https://registry.example.com");
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given)
    ? given
    : `${isLoopback(given.split(/[:/]/)[0] ?? "") || given.startsWith("[::1]") ? "http" : "https"}://${given}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new RegistryAddressError(`url: "${given}" is not an address (https://host[:port])`);
  }
  checkFetchable(url, "url");
  if (url.username || url.password)
    throw new RegistryAddressError("url: put the login in username and password, not in the address");
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash)
    throw new RegistryAddressError("url: only scheme://host[:port] (the v2 API is found at /v2/)");
  if (DOCKER_HUB_HOSTS.has(url.hostname) && !url.port) return { url: DOCKER_HUB_API, host: "docker.io" };
  return { url: url.origin, host: url.host.toLowerCase() };
}

/**
 * Whether the panel may fetch this address at all (a registry's, or the token realm a registry
 * sends it to): https anywhere, http only on loopback. `what` names the field in the message.
 */
export function checkFetchable(url: URL, what: string): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:") {
    if (isLoopback(url.hostname)) return;
    throw new RegistryAddressError(
      `${what}: plain http is allowed only on this machine (127.0.0.1, ::1, localhost); use https://${url.host}`,
    );
  }
  throw new RegistryAddressError(`${what}: only https:// (or http:// on loopback)`);
}
