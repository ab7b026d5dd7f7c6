import type * as Http from "node:http";
import type { Duplex } from "node:stream";
import type Dockerode from "dockerode";
import {
  type Capabilities,
  capabilitiesOf,
  engineKind,
  negotiateApiVersion,
  type VersionAnswer,
} from "./capabilities.ts";
import {
  type DirectRequest,
  type Engine,
  type EngineFacts,
  type ExecSession,
  type ExecSpec,
  type OpenAnswer,
  type OpenOptions,
  REQUEST_TIMEOUT_MS,
} from "./engine.ts";
import { answerError, EngineError, toEngineError } from "./errors.ts";
import { containerRef } from "./paths.ts";
import type { EngineTarget } from "./url.ts";

// dockerode (with Node's http client under it) costs ~17 MB of resident memory: it is loaded for the
// first shell, which needs its hijacked connection. Everything else goes over Bun's own fetch.
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

/** How an engine request travels: Bun's fetch, or (an agent's engine) a tunnel that answers like it. */
export type EngineFetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The Docker Engine API over HTTP (a unix socket, TCP or TLS): where the engine is, the API version
 * spoken with it and what it can do. Everything but a shell goes over Bun's fetch.
 */
export class DockerHttpEngine implements Engine {
  private docker: Promise<Dockerode> | undefined;
  private prefix = "";
  facts: EngineFacts | undefined;
  capabilities: Capabilities | undefined;

  constructor(
    readonly target: EngineTarget,
    private readonly transport: EngineFetch = fetch,
  ) {}

  get local(): boolean {
    return this.target.socketPath !== undefined;
  }

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

  /** An engine that takes over 30 s to answer a read has gone. */
  async get<T>(path: string, signal: AbortSignal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)): Promise<T> {
    const res = await this.request(path, signal);
    return (await res.json()) as T;
  }

  async send<T = unknown>(
    method: "POST" | "PUT" | "DELETE",
    path: string,
    { body, timeoutMs = REQUEST_TIMEOUT_MS }: { body?: unknown; timeoutMs?: number } = {},
  ): Promise<T | undefined> {
    const res = await this.request(path, AbortSignal.timeout(timeoutMs), true, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return text ? (JSON.parse(text) as T) : undefined;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await (await this.request("/_ping", signal)).arrayBuffer();
  }

  async stream(path: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    // No idle timeout: the engine's event stream is silent for as long as nothing happens.
    const res = await this.request(path, signal, false);
    if (!res.body) throw new EngineError(502, `engine sent no body for ${path}`);
    return res.body;
  }

  async open(
    method: "GET" | "HEAD" | "POST" | "PUT",
    path: string,
    { body, headers, signal }: OpenOptions = {},
  ): Promise<OpenAnswer> {
    const res = await this.request(path, signal, false, {
      method,
      headers,
      body,
      // A streamed body is sent as it is read (fetch's "half duplex").
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
    return { status: res.status, headers: res.headers, body: method === "HEAD" ? null : res.body };
  }

  /** Through dockerode: a shell needs the connection hijacked, which fetch cannot do. */
  async exec(container: string, spec: ExecSpec): Promise<ExecSession> {
    const docker = await this.dockerode();
    try {
      const exec = await docker.getContainer(containerRef(container)).exec({
        Cmd: spec.Cmd,
        Env: spec.Env,
        User: spec.User,
        AttachStdin: spec.interactive,
        AttachStdout: spec.interactive,
        AttachStderr: spec.interactive,
        Tty: spec.interactive,
      });
      let stream: Duplex | undefined;
      if (spec.interactive) {
        // Tty on start too: the engine multiplexes the output (8-byte frame headers) unless told.
        stream = await exec.start({ hijack: true, stdin: true, Tty: true });
      } else await exec.start({ Detach: true });
      return {
        stream,
        resize: (cols, rows) =>
          exec.resize({ w: cols, h: rows }).then(
            () => undefined,
            (err) => {
              throw toEngineError(err);
            },
          ),
        exitCode: () =>
          exec.inspect().then(
            (i) => i.ExitCode,
            () => null,
          ),
      };
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** Through dockerode too: attaching hijacks the connection like a shell does. */
  async attach(container: string): Promise<ExecSession> {
    const docker = await this.dockerode();
    const target = docker.getContainer(containerRef(container));
    try {
      const info = await target.inspect();
      const raw = (await target.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as Duplex;
      // Without a TTY the engine frames stdout and stderr (8-byte headers): the terminal gets them
      // merged, as `docker attach` prints them.
      // demux.ts brings node:stream, which nothing an idle panel runs needs (docs/decisions.md).
      const stream = info.Config.Tty ? raw : (await import("./demux.ts")).mergedOutput(raw);
      return {
        stream,
        resize: (cols, rows) =>
          target.resize({ w: cols, h: rows }).then(
            () => undefined,
            (err) => {
              throw toEngineError(err);
            },
          ),
        // Detaching leaves the container running: its exit code is known only once it has stopped.
        exitCode: () =>
          target.inspect().then(
            (i) => (i.State.Running ? null : i.State.ExitCode),
            () => null,
          ),
      };
    } catch (err) {
      throw toEngineError(err);
    }
  }

  direct(path: string): DirectRequest | undefined {
    return this.transport === fetch ? { url: this.url(path), ...this.reach() } : undefined;
  }

  /** fetch's options that reach the engine: its socket, or the TLS material for it. */
  private reach(): Omit<DirectRequest, "url"> {
    const t = this.target;
    return {
      ...(t.socketPath ? { unix: t.socketPath } : {}),
      ...(t.protocol === "https" ? { tls: { ca: t.ca, cert: t.cert, key: t.key } } : {}),
    };
  }

  protected url(path: string): string {
    const t = this.target;
    return t.socketPath
      ? `http://localhost${this.prefix}${path}`
      : `${t.protocol}://${t.host?.includes(":") ? `[${t.host}]` : t.host}:${t.port}${this.prefix}${path}`;
  }

  private async request(
    path: string,
    signal?: AbortSignal,
    idleTimeout = true,
    init: RequestInit = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await this.transport(this.url(path), {
        ...init,
        signal,
        // Never followed: see stopFollowingRedirects.
        redirect: "manual",
        timeout: idleTimeout,
        ...this.reach(),
      } as RequestInit);
    } catch (err) {
      throw new EngineError(0, `engine unreachable: ${(err as Error).message}`);
    }
    if (res.status >= 300 && res.status < 400 && res.status !== 304) {
      await res.body?.cancel().catch(() => {});
      throw new EngineError(res.status, `engine redirected (${res.status}) ${path}; not followed`);
    }
    if (!res.ok) throw answerError(res.status, await res.text().catch(() => ""), res.statusText);
    return res;
  }

  private dockerode(): Promise<Dockerode> {
    if (!this.facts) throw new EngineError(0, "engine not connected");
    this.docker ??= loadDockerode().then((Docker) => new Docker(this.modemOptions()));
    return this.docker;
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
