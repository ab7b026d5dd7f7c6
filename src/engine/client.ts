import type Dockerode from "dockerode";
import {
  type Capabilities,
  capabilitiesOf,
  type EngineKind,
  engineKind,
  negotiateApiVersion,
} from "./capabilities.ts";
import { EngineError, toEngineError } from "./errors.ts";
import type { EngineTarget } from "./url.ts";

export interface EngineFacts {
  kind: EngineKind;
  version: string;
  api_version: string;
  os: string;
  arch: string;
  hostname: string;
  ncpu: number;
  mem_total: number;
}

// dockerode pulls in ~15 MB of modules: load it on first use, once, for every engine.
let dockerodeModule: Promise<typeof Dockerode> | undefined;
function loadDockerode(): Promise<typeof Dockerode> {
  dockerodeModule ??= import("dockerode").then((m) => m.default);
  return dockerodeModule;
}

const PING_TIMEOUT_MS = 5_000;

/** One engine: connection options, negotiated API version and capabilities. */
export class EngineClient {
  private docker: Dockerode | undefined;
  facts: EngineFacts | undefined;
  capabilities: Capabilities | undefined;

  constructor(readonly target: EngineTarget) {}

  /** (Re)connects: reads /version and /info, negotiates the API version. Throws EngineError. */
  async connect(): Promise<void> {
    const Docker = await loadDockerode();
    const options = this.modemOptions();
    try {
      const probe = new Docker({ ...options, timeout: PING_TIMEOUT_MS });
      const version = (await probe.version()) as unknown as Record<string, unknown> & {
        Version?: string;
        ApiVersion?: string;
        Os?: string;
        Arch?: string;
      };
      const kind = engineKind(version);
      let info: Record<string, unknown> = {};
      if (kind !== "bolt") info = (await probe.info()) as Record<string, unknown>;
      const swarm = (info.Swarm as { LocalNodeState?: string } | undefined)?.LocalNodeState === "active";
      const capabilities = capabilitiesOf(kind, swarm);
      const apiVersion = negotiateApiVersion(version.ApiVersion);
      this.docker = new Docker(
        capabilities.versionedPaths ? { ...options, version: `v${apiVersion}` } : options,
      );
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
    } catch (err) {
      throw toEngineError(err);
    }
  }

  /** Runs one call against the engine; every failure comes back as an EngineError. */
  async call<T>(fn: (docker: Dockerode) => Promise<T>): Promise<T> {
    if (!this.docker) throw new EngineError(0, "engine not connected");
    try {
      return await fn(this.docker);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  private modemOptions(): Dockerode.DockerOptions {
    const t = this.target;
    if (t.socketPath) return { socketPath: t.socketPath };
    return {
      host: t.host,
      port: t.port,
      protocol: t.protocol,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
    };
  }
}
