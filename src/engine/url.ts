import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where an engine listens and how to reach it, as dockerode's modem wants it. */
export interface EngineTarget {
  url: string;
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: "http" | "https";
  ca?: string;
  cert?: string;
  key?: string;
}

export interface TlsMaterial {
  ca?: string;
  cert: string;
  key: string;
}

export class EngineUrlError extends Error {}

/**
 * Accepts unix:///path/to.sock, tcp://host:port, http://host:port and https://host:port.
 * tcp:// with TLS material (client certificate) becomes https, as the docker CLI does with --tlsverify.
 */
export function parseEngineUrl(url: string, tls?: TlsMaterial): EngineTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EngineUrlError(
      `engine URL "${url}" is not a URL; use unix:///var/run/docker.sock or tcp://host:2375`,
    );
  }
  if (parsed.protocol === "unix:") {
    const socketPath = decodeURIComponent(parsed.pathname);
    if (!socketPath || socketPath === "/")
      throw new EngineUrlError(`engine URL "${url}" names no socket path`);
    return { url, socketPath };
  }
  if (!["tcp:", "http:", "https:"].includes(parsed.protocol)) {
    throw new EngineUrlError(`engine URL "${url}": scheme must be unix://, tcp://, http:// or https://`);
  }
  if (!parsed.hostname) throw new EngineUrlError(`engine URL "${url}" names no host`);
  const secure = parsed.protocol === "https:" || (parsed.protocol === "tcp:" && tls !== undefined);
  const port = parsed.port ? Number(parsed.port) : secure ? 2376 : 2375;
  return {
    url,
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port,
    protocol: secure ? "https" : "http",
    ...(tls ?? {}),
  };
}

/** Reads ca.pem, cert.pem and key.pem from a directory, Docker's DOCKER_CERT_PATH layout. */
export function readCertDir(dir: string): TlsMaterial {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      throw new EngineUrlError(`engine certificate directory ${dir} has no readable ${name}`);
    }
  };
  return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}
