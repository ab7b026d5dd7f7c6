import type * as Http from "node:http";
import type Dockerode from "dockerode";
import type { EngineFacts } from "../protocol/views.ts";
import {
  type Capabilities,
  capabilitiesOf,
  engineKind,
  negotiateApiVersion,
  type VersionAnswer,
} from "./capabilities.ts";
import { EngineError, toEngineError } from "./errors.ts";
import { containerRef } from "./paths.ts";
import type { EngineTarget } from "./url.ts";

export type { EngineFacts };

// dockerode (with Node's http client under it) costs ~17 MB of resident memory: it is loaded on the
// first action, once for every engine. Reads, streams and logs go over Bun's own fetch.
let dockerodeModule: Promise<typeof Dockerode> | undefined;
function loadDockerode(): Promise<typeof Dockerode> {
  dockerodeModule ??= Promise.all([
    import("dockerode"),
    import("docker-modem/lib/http.js"),
    import("node:http"),
    import("node:https"),
  ]).then(([m, modemHttp, http, https]) => {
    stopFollowingRedirects(modemHttp, { http, https });
    return m.default;
  });
  return dockerodeModule;
}

type HttpClient = Pick<typeof Http, "request" | "get">;

/**
 * docker-modem wraps Node's http in a copy of an old follow-redirects, which resolves the engine's
 * Location against a URL without a host when it talks over a socket: the "Invalid URL" it then
 * throws is raised in a response callback, where nothing can catch it, and ends the process. No
 * engine answer of ours is a redirect, so none is followed: a 3xx comes back as an engine error.
 */
function stopFollowingRedirects(
  modemHttp: Record<"http" | "https", { request: unknown; get: unknown }>,
  native: Record<"http" | "https", HttpClient>,
): void {
  for (const proto of ["http", "https"] as const) {
    const client = native[proto];
    modemHttp[proto].request = (options: Http.RequestOptions, cb?: () => void) => client.request(options, cb);
    modemHttp[proto].get = (options: Http.RequestOptions, cb?: () => void) => client.get(options, cb);
  }
}

const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * One engine: where it is, the API version spoken with it and what it can do. `get` and `stream`
 * are the read path the state mirror uses all the time; `call` hands dockerode to actions.
 */
export class EngineClient {
  private docker: Promise<Dockerode> | undefined;
  private prefix = "";
  facts: EngineFacts | undefined;
  capabilities: Capabilities | undefined;

  constructor(readonly target: EngineTarget) {}

  /** (Re)connects: reads /version and /info, negotiates the API version. Throws EngineError. */
  async connect(): Promise<void> {
    this.prefix = "";
    const signal = AbortSignal.timeout(CONNECT_TIMEOUT_MS);
    const version = await this.get<VersionAnswer & { Os?: string; Arch?: string }>("/version", signal);
    const kind = engineKind(version);
    const info = kind === "bolt" ? {} : await this.get<Record<string, unknown>>("/info", signal);
    const swarm = (info.Swarm as { LocalNodeState?: string } | undefined)?.LocalNodeState === "active";
    const capabilities = capabilitiesOf(kind, swarm);
    const apiVersion = negotiateApiVersion(version.ApiVersion);
    this.prefix = capabilities.versionedPaths ? `/v${apiVersion}` : "";
    this.docker = undefined;
    this.capabilities = capabilities;
    this.facts = {
      kind,
      version: version.Version ?? "unknown",
      api_version: apiVersion,
      os: String(info.OperatingSystem ?? version.Os ?? ""),
      arch: String(info.Architecture ?? version.Arch ?? ""),
      hostname: String(info.Name ?? ""),
      ncpu: Number(info.NCPU ?? 0),
      mem_total: Number(info.MemTotal ?? 0),
    };
  }

  /** GET of a JSON answer, e.g. `/containers/json?all=1`; an engine that takes over 30 s has gone. */
  async get<T>(path: string, signal: AbortSignal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)): Promise<T> {
    const res = await this.request(path, signal);
    return (await res.json()) as T;
  }

  /** POST of a JSON body made by the panel (never a caller's object), with the JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.request(path, AbortSignal.timeout(REQUEST_TIMEOUT_MS), true, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return (await res.json()) as T;
  }

  /** Asks whether the engine still answers at all; throws EngineError when it does not. */
  async ping(signal?: AbortSignal): Promise<void> {
    await (await this.request("/_ping", signal)).arrayBuffer();
  }

  /** GET of a streamed answer (events, followed logs): the body as it arrives, for as long as it lasts. */
  async stream(path: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    // No idle timeout: the engine's event stream is silent for as long as nothing happens.
    const res = await this.request(path, signal, false);
    if (!res.body) throw new EngineError(502, `engine sent no body for ${path}`);
    return res.body;
  }

  /** Runs one dockerode call against the engine; every failure comes back as an EngineError. */
  async call<T>(fn: (docker: Dockerode) => Promise<T>): Promise<T> {
    if (!this.facts) throw new EngineError(0, "engine not connected");
    this.docker ??= loadDockerode().then((Docker) => new Docker(this.modemOptions()));
    try {
      return await fn(await this.docker);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** Runs one dockerode call on the container a caller named, the reference checked and encoded. */
  container<T>(
    ref: string,
    fn: (container: Dockerode.Container, docker: Dockerode) => Promise<T>,
  ): Promise<T> {
    return this.call((d) => fn(d.getContainer(containerRef(ref)), d));
  }

  private async request(
    path: string,
    signal?: AbortSignal,
    idleTimeout = true,
    init: RequestInit = {},
  ): Promise<Response> {
    const t = this.target;
    const url = t.socketPath
      ? `http://localhost${this.prefix}${path}`
      : `${t.protocol}://${t.host?.includes(":") ? `[${t.host}]` : t.host}:${t.port}${this.prefix}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        signal,
        // Never followed: see stopFollowingRedirects.
        redirect: "manual",
        timeout: idleTimeout,
        ...(t.socketPath ? { unix: t.socketPath } : {}),
        ...(t.protocol === "https" ? { tls: { ca: t.ca, cert: t.cert, key: t.key } } : {}),
      } as RequestInit);
    } catch (err) {
      throw new EngineError(0, `engine unreachable: ${(err as Error).message}`);
    }
    if (res.status >= 300 && res.status < 400 && res.status !== 304) {
      await res.body?.cancel().catch(() => {});
      throw new EngineError(res.status, `engine redirected (${res.status}) ${path}; not followed`);
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).trim();
      let message = text || res.statusText;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: Bolt's compat server and proxies answer in plain text
      }
      throw new EngineError(res.status, message);
    }
    return res;
  }

  private modemOptions(): Dockerode.DockerOptions {
    const t = this.target;
    const version = this.prefix ? { version: this.prefix.slice(1) } : {};
    if (t.socketPath) return { socketPath: t.socketPath, ...version };
    return {
      host: t.host,
      port: t.port,
      protocol: t.protocol,
      ...version,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
    };
  }
}
