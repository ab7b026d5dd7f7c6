/**
 * A container as the create form holds it: plain fields, as people type them ("256m", "30s",
 * "8080:80"), turned into the engine's ContainerCreate body (`toCreateBody`) and read back from
 * what inspect says a container has (`fromInspect`, for duplicate, edit and `docker run`).
 */

export interface PortSpec {
  hostIp: string;
  hostPort: string;
  containerPort: string;
  protocol: "tcp" | "udp" | "sctp";
}

export interface MountSpec {
  kind: "volume" | "bind" | "tmpfs";
  /** a volume's name or a host path; empty for tmpfs and anonymous volumes */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface HealthSpec {
  /** run by the container's shell (CMD-SHELL) */
  cmd: string;
  interval: string;
  timeout: string;
  retries: string;
  startPeriod: string;
}

export type RestartName = "no" | "always" | "unless-stopped" | "on-failure";

export interface CreateSpec {
  image: string;
  name: string;
  /** argv, each element one argument */
  cmd: string[];
  entrypoint: string[];
  /** KEY=VALUE */
  env: string[];
  ports: PortSpec[];
  mounts: MountSpec[];
  network: string;
  aliases: string[];
  ipv4: string;
  restart: RestartName;
  restartRetries: string;
  /** "1.5" */
  cpus: string;
  /** "256m" */
  memory: string;
  pids: string;
  labels: [string, string][];
  health: HealthSpec | null;
  user: string;
  workdir: string;
  hostname: string;
  dns: string[];
  capAdd: string[];
  capDrop: string[];
  /** "/dev/host[:/dev/container[:rwm]]" */
  devices: string[];
  /** "" none, "all", or a count */
  gpus: string;
  logDriver: string;
  logOpts: [string, string][];
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  privileged: boolean;
  readOnly: boolean;
  init: boolean;
}

export function emptySpec(): CreateSpec {
  return {
    image: "",
    name: "",
    cmd: [],
    entrypoint: [],
    env: [],
    ports: [],
    mounts: [],
    network: "",
    aliases: [],
    ipv4: "",
    restart: "no",
    restartRetries: "",
    cpus: "",
    memory: "",
    pids: "",
    labels: [],
    health: null,
    user: "",
    workdir: "",
    hostname: "",
    dns: [],
    capAdd: [],
    capDrop: [],
    devices: [],
    gpus: "",
    logDriver: "",
    logOpts: [],
    tty: false,
    interactive: false,
    autoRemove: false,
    privileged: false,
    readOnly: false,
    init: false,
  };
}

export class SpecError extends Error {}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "256m", "1g", "512k", "1048576" → bytes, as `docker run --memory` reads them. */
export function parseSize(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new SpecError(`${field}: "${text}" is not a size (e.g. 256m, 1g)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ["g", 1024 ** 3],
    ["m", 1024 ** 2],
    ["k", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go durations as docker run takes them ("30s", "1m30s", "500ms") → nanoseconds. */
export function parseDuration(text: string, field: string): number {
  const t = text.trim();
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!t || parts.map((p) => p[0]).join("") !== t) {
    throw new SpecError(`${field}: "${text}" is not a duration (e.g. 30s, 1m30s)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0));
}

export function formatDuration(ns: number): string {
  if (ns % 3600e9 === 0) return `${ns / 3600e9}h`;
  if (ns % 60e9 === 0) return `${ns / 60e9}m`;
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  return `${ns / 1e6}ms`;
}

/** "8080:80", "127.0.0.1:8080:80/udp", "80" (any host port) → a port. */
export function parsePort(text: string): PortSpec {
  const [main = "", proto = "tcp"] = text.trim().split("/");
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp") {
    throw new SpecError(`port "${text}": protocol is tcp, udp or sctp`);
  }
  // An IPv6 host address comes in brackets: [::1]:8080:80.
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(main);
  const parts = v6 ? [v6[1]!, ...v6[2]!.split(":")] : main.split(":");
  const [hostIp, hostPort, containerPort] =
    parts.length === 3 ? parts : parts.length === 2 ? ["", parts[0], parts[1]] : ["", "", parts[0]];
  const port = /^\d{1,5}(-\d{1,5})?$/;
  if (!containerPort || !port.test(containerPort) || (hostPort && !port.test(hostPort))) {
    throw new SpecError(`port "${text}" is not host:container (e.g. 8080:80)`);
  }
  return { hostIp: hostIp ?? "", hostPort: hostPort ?? "", containerPort, protocol: proto };
}

export function formatPort(p: PortSpec): string {
  const ip = p.hostIp.includes(":") ? `[${p.hostIp}]` : p.hostIp;
  const host = p.hostIp ? `${ip}:${p.hostPort}:` : p.hostPort ? `${p.hostPort}:` : "";
  return `${host}${p.containerPort}${p.protocol === "tcp" ? "" : `/${p.protocol}`}`;
}

/** `-v` syntax: "name:/path", "/host:/path:ro", "/path" (anonymous volume). */
export function parseVolume(text: string): MountSpec {
  const parts = text.split(":");
  const opts = parts.length === 3 ? parts[2]!.split(",") : [];
  if (parts.length > 3 || parts.some((p, i) => !p && i < 2)) {
    throw new SpecError(`volume "${text}" is not source:/target[:ro]`);
  }
  if (parts.length === 1) return { kind: "volume", source: "", target: parts[0]!, readOnly: false };
  const source = parts[0]!;
  return {
    kind: source.startsWith("/") || source.startsWith(".") ? "bind" : "volume",
    source,
    target: parts[1]!,
    readOnly: opts.includes("ro"),
  };
}

export function formatVolume(m: MountSpec): string {
  return m.source ? `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}` : m.target;
}

/** The engine's ContainerCreate body (plus `name`) for this spec; a field typed wrongly throws SpecError. */
export function toCreateBody(spec: CreateSpec): Record<string, unknown> {
  const image = spec.image.trim();
  if (!image) throw new SpecError("image: which image to run");
  const host: Record<string, unknown> = {};
  const body: Record<string, unknown> = { Image: image };
  if (spec.name.trim()) body.name = spec.name.trim();
  if (spec.cmd.length) body.Cmd = spec.cmd;
  if (spec.entrypoint.length) body.Entrypoint = spec.entrypoint;
  const env = spec.env.map((e) => e.trim()).filter(Boolean);
  for (const e of env) if (e.startsWith("=")) throw new SpecError(`environment: "${e}" has no name`);
  if (env.length) body.Env = env;
  if (spec.user.trim()) body.User = spec.user.trim();
  if (spec.workdir.trim()) body.WorkingDir = spec.workdir.trim();
  if (spec.hostname.trim()) body.Hostname = spec.hostname.trim();
  if (spec.tty) body.Tty = true;
  if (spec.interactive) {
    body.OpenStdin = true;
    body.AttachStdin = true;
  }
  const labels = spec.labels.filter(([k]) => k.trim());
  if (labels.length) body.Labels = Object.fromEntries(labels.map(([k, v]) => [k.trim(), v]));

  if (spec.ports.length) {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      bindings[key] = [...(bindings[key] ?? []), { HostIp: p.hostIp, HostPort: p.hostPort }];
    }
    body.ExposedPorts = exposed;
    host.PortBindings = bindings;
  }
  const binds: string[] = [];
  const mounts: Record<string, unknown>[] = [];
  const anonymous: Record<string, object> = {};
  for (const m of spec.mounts) {
    if (!m.target.startsWith("/")) throw new SpecError(`mount: the target "${m.target}" is an absolute path`);
    if (m.kind === "tmpfs") mounts.push({ Type: "tmpfs", Target: m.target, ReadOnly: m.readOnly });
    else if (!m.source) anonymous[m.target] = {};
    else binds.push(formatVolume(m));
  }
  if (binds.length) host.Binds = binds;
  if (mounts.length) host.Mounts = mounts;
  if (Object.keys(anonymous).length) body.Volumes = anonymous;

  if (spec.restart !== "no") {
    host.RestartPolicy = {
      Name: spec.restart,
      ...(spec.restart === "on-failure" && spec.restartRetries
        ? { MaximumRetryCount: int(spec.restartRetries, "restart retries") }
        : {}),
    };
  }
  if (spec.cpus.trim()) {
    const cpus = Number(spec.cpus);
    if (!(cpus > 0)) throw new SpecError(`CPUs: "${spec.cpus}" is not a positive number (e.g. 0.5)`);
    host.NanoCpus = Math.round(cpus * 1e9);
  }
  if (spec.memory.trim()) host.Memory = parseSize(spec.memory, "memory");
  if (spec.pids.trim()) host.PidsLimit = int(spec.pids, "pids limit");
  const dns = spec.dns.map((d) => d.trim()).filter(Boolean);
  if (dns.length) host.Dns = dns;
  if (spec.capAdd.length) host.CapAdd = spec.capAdd;
  if (spec.capDrop.length) host.CapDrop = spec.capDrop;
  if (spec.devices.length) {
    host.Devices = spec.devices.map((d) => {
      const [on, inside = on, perms = "rwm"] = d.split(":");
      return { PathOnHost: on, PathInContainer: inside, CgroupPermissions: perms };
    });
  }
  if (spec.gpus.trim()) {
    const gpus = spec.gpus.trim();
    host.DeviceRequests = [
      { Driver: "", Count: gpus === "all" ? -1 : int(gpus, "GPUs"), Capabilities: [["gpu"]] },
    ];
  }
  if (spec.logDriver.trim() || spec.logOpts.length) {
    host.LogConfig = {
      Type: spec.logDriver.trim() || "json-file",
      Config: Object.fromEntries(spec.logOpts.filter(([k]) => k.trim())),
    };
  }
  if (spec.autoRemove) host.AutoRemove = true;
  if (spec.privileged) host.Privileged = true;
  if (spec.readOnly) host.ReadonlyRootfs = true;
  if (spec.init) host.Init = true;
  if (spec.network.trim()) host.NetworkMode = spec.network.trim();
  if (spec.health) {
    const h = spec.health;
    body.Healthcheck = {
      Test: ["CMD-SHELL", h.cmd],
      ...(h.interval ? { Interval: parseDuration(h.interval, "health interval") } : {}),
      ...(h.timeout ? { Timeout: parseDuration(h.timeout, "health timeout") } : {}),
      ...(h.retries ? { Retries: int(h.retries, "health retries") } : {}),
      ...(h.startPeriod ? { StartPeriod: parseDuration(h.startPeriod, "health start period") } : {}),
    };
  }
  if (Object.keys(host).length) body.HostConfig = host;
  const net = spec.network.trim();
  if (net && (spec.aliases.length || spec.ipv4.trim())) {
    body.NetworkingConfig = {
      EndpointsConfig: {
        [net]: {
          ...(spec.aliases.length ? { Aliases: spec.aliases } : {}),
          ...(spec.ipv4.trim() ? { IPAMConfig: { IPv4Address: spec.ipv4.trim() } } : {}),
        },
      },
    };
  }
  return body;
}

function int(text: string, field: string): number {
  const n = Number(text.trim());
  if (!Number.isInteger(n)) throw new SpecError(`${field}: "${text}" is not a whole number`);
  return n;
}

/** What inspect says of a container, as far as the form reads it. */
export interface InspectLike {
  Name?: string;
  Config?: {
    Image?: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    User?: string;
    WorkingDir?: string;
    Hostname?: string;
    Tty?: boolean;
    OpenStdin?: boolean;
    Healthcheck?: {
      Test?: string[];
      Interval?: number;
      Timeout?: number;
      Retries?: number;
      StartPeriod?: number;
    };
  };
  HostConfig?: {
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Binds?: string[] | null;
    Mounts?: { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[] | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    NanoCpus?: number;
    Memory?: number;
    PidsLimit?: number | null;
    Dns?: string[] | null;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Devices?: { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[] | null;
    DeviceRequests?: { Count?: number; Capabilities?: string[][] }[] | null;
    LogConfig?: { Type?: string; Config?: Record<string, string> };
    NetworkMode?: string;
    AutoRemove?: boolean;
    Privileged?: boolean;
    ReadonlyRootfs?: boolean;
    Init?: boolean | null;
  };
  NetworkSettings?: {
    Networks?: Record<string, { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null }>;
  };
}

/**
 * The form's view of an existing container: what it was asked to be, not what the image gives it
 * by default (the image's env and cmd are part of Config once created: `imageConfig` removes them
 * when known, so a duplicate does not pin the old image's defaults).
 */
export function fromInspect(
  inspect: InspectLike,
  imageConfig?: {
    Env?: string[] | null;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Labels?: Record<string, string> | null;
  },
): CreateSpec {
  const cfg = inspect.Config ?? {};
  const host = inspect.HostConfig ?? {};
  const spec = emptySpec();
  spec.image = cfg.Image ?? "";
  spec.name = (inspect.Name ?? "").replace(/^\//, "");
  const same = (a: string[] | null | undefined, b: string[] | null | undefined) =>
    JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  if (!imageConfig || !same(cfg.Cmd, imageConfig.Cmd)) spec.cmd = cfg.Cmd ?? [];
  if (!imageConfig || !same(cfg.Entrypoint, imageConfig.Entrypoint)) spec.entrypoint = cfg.Entrypoint ?? [];
  const imageEnv = new Set(imageConfig?.Env ?? []);
  spec.env = (cfg.Env ?? []).filter((e) => !imageEnv.has(e));
  const imageLabels = imageConfig?.Labels ?? {};
  spec.labels = Object.entries(cfg.Labels ?? {}).filter(([k, v]) => imageLabels[k] !== v);
  spec.user = cfg.User ?? "";
  spec.workdir = cfg.WorkingDir ?? "";
  // Unless given, the engine names the host after the container's short id.
  if (cfg.Hostname && !/^[0-9a-f]{12}$/.test(cfg.Hostname)) spec.hostname = cfg.Hostname;
  spec.tty = cfg.Tty === true;
  spec.interactive = cfg.OpenStdin === true;
  const h = cfg.Healthcheck;
  if (h?.Test?.length && h.Test[0] !== "NONE") {
    spec.health = {
      cmd: h.Test[0] === "CMD-SHELL" ? (h.Test[1] ?? "") : h.Test.slice(1).join(" "),
      interval: h.Interval ? formatDuration(h.Interval) : "",
      timeout: h.Timeout ? formatDuration(h.Timeout) : "",
      retries: h.Retries ? String(h.Retries) : "",
      startPeriod: h.StartPeriod ? formatDuration(h.StartPeriod) : "",
    };
  }
  for (const [key, bindings] of Object.entries(host.PortBindings ?? {})) {
    const [containerPort = "", protocol = "tcp"] = key.split("/");
    for (const b of bindings ?? []) {
      spec.ports.push({
        hostIp: b.HostIp ?? "",
        hostPort: b.HostPort ?? "",
        containerPort,
        protocol: protocol as PortSpec["protocol"],
      });
    }
  }
  spec.mounts = (host.Binds ?? []).map(parseVolume);
  for (const m of host.Mounts ?? []) {
    if (m.Type === "tmpfs")
      spec.mounts.push({ kind: "tmpfs", source: "", target: m.Target ?? "", readOnly: !!m.ReadOnly });
    else if (m.Type === "volume" || m.Type === "bind") {
      spec.mounts.push({
        kind: m.Type,
        source: m.Source ?? "",
        target: m.Target ?? "",
        readOnly: !!m.ReadOnly,
      });
    }
  }
  const restart = host.RestartPolicy?.Name;
  if (restart === "always" || restart === "unless-stopped" || restart === "on-failure") {
    spec.restart = restart;
    if (restart === "on-failure" && host.RestartPolicy?.MaximumRetryCount) {
      spec.restartRetries = String(host.RestartPolicy.MaximumRetryCount);
    }
  }
  if (host.NanoCpus) spec.cpus = String(host.NanoCpus / 1e9);
  if (host.Memory) spec.memory = formatSize(host.Memory);
  if (host.PidsLimit && host.PidsLimit > 0) spec.pids = String(host.PidsLimit);
  spec.dns = host.Dns ?? [];
  spec.capAdd = host.CapAdd ?? [];
  spec.capDrop = host.CapDrop ?? [];
  spec.devices = (host.Devices ?? []).map((d) =>
    [d.PathOnHost, d.PathInContainer, d.CgroupPermissions === "rwm" ? undefined : d.CgroupPermissions]
      .filter((x) => x)
      .join(":"),
  );
  const gpu = (host.DeviceRequests ?? []).find((r) => r.Capabilities?.some((c) => c.includes("gpu")));
  if (gpu) spec.gpus = gpu.Count === -1 ? "all" : String(gpu.Count ?? 1);
  const log = host.LogConfig;
  if (log?.Type && (log.Type !== "json-file" || Object.keys(log.Config ?? {}).length)) {
    spec.logDriver = log.Type;
    spec.logOpts = Object.entries(log.Config ?? {});
  }
  const mode = host.NetworkMode ?? "";
  if (mode && mode !== "default" && mode !== "bridge") spec.network = mode;
  const endpoint = spec.network ? inspect.NetworkSettings?.Networks?.[spec.network] : undefined;
  if (endpoint) {
    // The engine adds the container's short id as an alias of its own: not one the user gave.
    spec.aliases = (endpoint.Aliases ?? []).filter((a) => !/^[0-9a-f]{12}$/.test(a) && a !== spec.name);
    spec.ipv4 = endpoint.IPAMConfig?.IPv4Address ?? "";
  }
  spec.autoRemove = host.AutoRemove === true;
  spec.privileged = host.Privileged === true;
  spec.readOnly = host.ReadonlyRootfs === true;
  spec.init = host.Init === true;
  return spec;
}
