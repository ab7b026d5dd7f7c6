import { realpathSync } from "node:fs";
import { posix } from "node:path";
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
  /** host path prefixes non-admins may bind-mount; empty: none */
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

interface HostConfigLike {
  Privileged?: unknown;
  SecurityOpt?: unknown;
  NetworkMode?: unknown;
  PidMode?: unknown;
  IpcMode?: unknown;
  UTSMode?: unknown;
  UsernsMode?: unknown;
  CgroupnsMode?: unknown;
  Devices?: unknown;
  DeviceRequests?: unknown;
  DeviceCgroupRules?: unknown;
  CapAdd?: unknown;
  Binds?: unknown;
  Mounts?: unknown;
}

const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;

/**
 * Why a container create body (Docker's ContainerCreate shape) breaks the settings: one sentence per
 * problem, none when it is fine.
 */
export function safetyViolations(
  body: Record<string, unknown>,
  s: EngineSafety,
  /** the engine runs on this machine: host paths can be looked at here */
  onThisMachine: boolean,
): string[] {
  const realPath = onThisMachine ? localRealPath : (p: string) => p;
  const h = (body.HostConfig ?? {}) as HostConfigLike;
  const out: string[] = [];
  if (!s.allow_privileged) {
    if (h.Privileged === true) out.push("privileged containers are not allowed");
    const opts = Array.isArray(h.SecurityOpt) ? h.SecurityOpt.map(String) : [];
    if (opts.some((o) => /unconfined/.test(o) || /^no-new-privileges[:=]false$/.test(o)))
      out.push("turning off seccomp or AppArmor (SecurityOpt …unconfined) is not allowed");
  }
  if (!s.allow_host_namespaces) {
    for (const [field, label] of [
      ["NetworkMode", "network"],
      ["PidMode", "PID"],
      ["IpcMode", "IPC"],
      ["UTSMode", "UTS"],
      ["UsernsMode", "user"],
      ["CgroupnsMode", "cgroup"],
    ] as const) {
      if (h[field] === "host") out.push(`the host's ${label} namespace (${field}: host) is not allowed`);
    }
  }
  if (
    !s.allow_devices &&
    (nonEmpty(h.Devices) || nonEmpty(h.DeviceRequests) || nonEmpty(h.DeviceCgroupRules))
  ) {
    out.push("device mappings are not allowed");
  }
  if (!s.allow_capabilities && nonEmpty(h.CapAdd)) out.push("added capabilities (CapAdd) are not allowed");
  for (const source of bindSources(h)) {
    // Both the path as written and where its symlinks lead: a link planted inside an allowed
    // directory must not reach the rest of the host.
    if (!pathAllowed(source, s.allowed_bind_paths) || !pathAllowed(realPath(source), s.allowed_bind_paths)) {
      out.push(
        s.allowed_bind_paths.length
          ? `binding host path ${source} is not allowed (allowed under: ${s.allowed_bind_paths.join(", ")})`
          : `binding host path ${source} is not allowed (no host paths are)`,
      );
    }
  }
  return out;
}

/** Host paths a body binds: "src:dst[:opts]" in Binds with an absolute src, and Mounts of type bind. */
function bindSources(h: HostConfigLike): string[] {
  const out: string[] = [];
  if (Array.isArray(h.Binds)) {
    for (const b of h.Binds) {
      const source = String(b).split(":")[0] ?? "";
      // A name (not a path) is a named volume: the engine's own storage, not the host's files.
      if (source.startsWith("/")) out.push(source);
    }
  }
  if (Array.isArray(h.Mounts)) {
    for (const m of h.Mounts as { Type?: unknown; Source?: unknown }[]) {
      if (m?.Type === "bind") out.push(String(m.Source ?? ""));
    }
  }
  return out;
}

/** Under one of the prefixes once normalised: `..` cannot climb out of an allowed directory. */
function pathAllowed(source: string, prefixes: string[]): boolean {
  const path = posix.normalize(source);
  if (!path.startsWith("/")) return false;
  return prefixes.some((prefix) => {
    const p = posix.normalize(prefix).replace(/\/+$/, "");
    return p !== "" && (path === p || path.startsWith(`${p}/`));
  });
}

/** Where a host path really leads on this machine; as written when it does not exist yet. */
function localRealPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
