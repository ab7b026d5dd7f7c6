import { posix } from "node:path";
import type { EngineSafety } from "../settings/engine-safety.ts";
import {
  type ContainerCreate,
  type EndpointSettings,
  type HostConfig,
  type Mount,
  VOLUME_NAME,
  type VolumeCreate,
} from "./create-schema.ts";
import { hostPathProblem } from "./host-paths.ts";

/**
 * What a check needs to know beyond the body: the admin's settings, whether host paths can be
 * looked at here, and which containers, networks and volumes the caller's teams own.
 */
export interface SafetyContext {
  settings: EngineSafety;
  /** the engine runs on this machine, so its host paths are this machine's */
  onThisMachine: boolean;
  /**
   * The full id of a container, by name or id, that the caller may operate AND could have made
   * (joining a container's namespaces or volumes gets what it was given); else why not.
   */
  ownedContainer(ref: string): Promise<{ id: string } | { refused: string }>;
  /** whether the caller's teams own this network (the engine's own bridge/none count as everyone's) */
  ownsNetwork(name: string): Promise<boolean>;
  /** "owned" by the caller's teams, "missing" (the panel makes it, labelled), or why it is refused */
  volume(name: string): Promise<"owned" | "missing" | { refused: string; hostBind?: boolean }>;
}

export interface Vetted {
  /** one sentence per problem, each starting with the field; none when the body is fine */
  problems: string[];
  /** the body to send: references to owned containers replaced by their full ids */
  body: ContainerCreate;
  /** named volumes the body uses that do not exist yet: made first, with the caller's team label */
  volumesToCreate: string[];
}

/**
 * How each field of ContainerCreate is treated for a non-admin (admins get the schema only):
 * - "free": nothing in it reaches past the container (its own command, limits, ports, DNS…);
 * - "admin": refused whenever it is set, because it reaches the host or the runtime beneath;
 * - a check: allowed within a rule (below), or when an admin's setting allows it.
 * docs/security.md lists the same table with the reasons; a test keeps the two equal.
 */
export type FieldRule = "free" | "admin" | "checked";

export const CONFIG_RULES: Record<string, FieldRule> = {
  name: "free",
  Hostname: "free",
  Domainname: "free",
  User: "free",
  AttachStdin: "free",
  AttachStdout: "free",
  AttachStderr: "free",
  ExposedPorts: "free",
  Tty: "free",
  OpenStdin: "free",
  StdinOnce: "free",
  Env: "free",
  Cmd: "free",
  Healthcheck: "free",
  ArgsEscaped: "free",
  Image: "free",
  Volumes: "checked",
  WorkingDir: "checked",
  Entrypoint: "free",
  NetworkDisabled: "free",
  OnBuild: "free",
  Labels: "checked",
  StopSignal: "free",
  StopTimeout: "free",
  Shell: "free",
  HostConfig: "checked",
  NetworkingConfig: "checked",
};

export const HOST_CONFIG_RULES: Record<keyof HostConfig, FieldRule> = {
  CpuShares: "free",
  Memory: "free",
  CgroupParent: "admin",
  BlkioWeight: "free",
  BlkioWeightDevice: "checked",
  BlkioDeviceReadBps: "checked",
  BlkioDeviceWriteBps: "checked",
  BlkioDeviceReadIOps: "checked",
  BlkioDeviceWriteIOps: "checked",
  CpuPeriod: "free",
  CpuQuota: "free",
  CpuRealtimePeriod: "admin",
  CpuRealtimeRuntime: "admin",
  CpusetCpus: "free",
  CpusetMems: "free",
  Devices: "checked",
  DeviceCgroupRules: "checked",
  DeviceRequests: "checked",
  MemoryReservation: "free",
  MemorySwap: "free",
  MemorySwappiness: "free",
  NanoCpus: "free",
  OomKillDisable: "admin",
  Init: "free",
  PidsLimit: "free",
  Ulimits: "free",
  CpuCount: "free",
  CpuPercent: "free",
  IOMaximumIOps: "free",
  IOMaximumBandwidth: "free",
  Binds: "checked",
  ContainerIDFile: "admin",
  LogConfig: "checked",
  NetworkMode: "checked",
  PortBindings: "free",
  RestartPolicy: "free",
  AutoRemove: "free",
  VolumeDriver: "admin",
  VolumesFrom: "checked",
  Mounts: "checked",
  ConsoleSize: "free",
  Annotations: "admin",
  CapAdd: "checked",
  CapDrop: "free",
  CgroupnsMode: "checked",
  Dns: "free",
  DnsOptions: "free",
  DnsSearch: "free",
  ExtraHosts: "free",
  GroupAdd: "free",
  IpcMode: "checked",
  Cgroup: "admin",
  Links: "checked",
  OomScoreAdj: "checked",
  PidMode: "checked",
  Privileged: "checked",
  PublishAllPorts: "free",
  ReadonlyRootfs: "free",
  SecurityOpt: "checked",
  StorageOpt: "admin",
  Tmpfs: "checked",
  UTSMode: "checked",
  UsernsMode: "checked",
  ShmSize: "free",
  Sysctls: "admin",
  Runtime: "checked",
  Isolation: "checked",
  MaskedPaths: "checked",
  ReadonlyPaths: "checked",
};

export const ENDPOINT_RULES: Record<keyof EndpointSettings, FieldRule> = {
  IPAMConfig: "free",
  Links: "checked",
  MacAddress: "free",
  Aliases: "free",
  DriverOpts: "admin",
  GwPriority: "free",
  NetworkID: "free",
  EndpointID: "free",
  Gateway: "free",
  IPAddress: "free",
  IPPrefixLen: "free",
  IPv6Gateway: "free",
  GlobalIPv6Address: "free",
  GlobalIPv6PrefixLen: "free",
  DNSNames: "free",
};

export const MOUNT_RULES: Record<keyof Mount, FieldRule> = {
  Target: "checked",
  Source: "checked",
  Type: "checked",
  ReadOnly: "free",
  Consistency: "free",
  BindOptions: "checked",
  VolumeOptions: "checked",
  ImageOptions: "admin",
  TmpfsOptions: "free",
};

export const VOLUME_CREATE_RULES: Record<keyof VolumeCreate, FieldRule> = {
  Name: "free",
  Driver: "checked",
  DriverOpts: "checked",
  Labels: "checked",
  ClusterVolumeSpec: "admin",
};

/**
 * The local driver's options a non-admin may give: none (a directory in the engine's storage), or a
 * tmpfs of some size and mode. Anything else mounts what the options name — `o=bind,device=/` is
 * the host's root, `type=nfs` another machine — and other drivers are programs of the host's.
 */
const TMPFS_OPTION = /^(size=\d+[kmg%]?|nr_inodes=\d+[kmg]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+)$/;

/** Why a volume with this driver and these options is more than a directory of the engine's: none when it is not. */
export function volumeDriverProblems(
  driver: string | null | undefined,
  options: Record<string, string> | null | undefined,
): string[] {
  const problems: string[] = [];
  if ((driver ?? "local") !== "local" && driver !== "")
    problems.push(`Driver: "${driver}" is not allowed (only admins may use drivers other than local)`);
  const o = options ?? {};
  const keys = Object.keys(o);
  if (keys.length === 0) return problems;
  const tmpfs =
    o.type === "tmpfs" &&
    (o.device ?? "tmpfs") === "tmpfs" &&
    keys.every((k) => k === "type" || k === "device" || k === "o") &&
    (o.o ?? "").split(",").every((opt) => opt === "" || TMPFS_OPTION.test(opt));
  if (!tmpfs)
    problems.push(
      `DriverOpts: ${keys.map((k) => `${k}=${o[k]}`).join(", ")} is not allowed (a non-admin may give none, or type=tmpfs with o=size,mode,uid,gid,nr_inodes: other options bind host paths or mount other machines)`,
    );
  return problems;
}

/** The one decision for a non-admin's volume: its driver and options (the team label is the route's). */
export function vetVolumeCreate(body: VolumeCreate): string[] {
  const problems = volumeDriverProblems(body.Driver, body.DriverOpts);
  if (!unset(body.ClusterVolumeSpec)) problems.push("ClusterVolumeSpec: only admins may set this");
  return problems;
}

/** Log drivers that write on the engine's own disk; the others send to an address the body names. */
const LOCAL_LOG_DRIVERS = new Set(["", "json-file", "local", "none"]);
const LOCAL_LOG_OPTIONS = new Set(["max-size", "max-file", "compress", "mode", "max-buffer-size"]);
/** The isolation a Linux engine uses anyway; "hyperv"/"process" mean nothing here but are refused. */
const DEFAULT_ISOLATION = new Set(["", "default"]);
const DEFAULT_RUNTIMES = new Set(["", "runc"]);
/** A container's own namespaces: not shared with the host or with anyone. */
const OWN_IPC = new Set(["", "none", "private", "shareable"]);
const OWN_NETWORKS = new Set(["", "default", "bridge", "none"]);
const SAFE_SECURITY_OPTS = /^no-new-privileges(?:[:=]true)?$/;
const SAFE_BIND_OPTIONS = new Set([
  "ro",
  "rw",
  "nocopy",
  "private",
  "rprivate",
  "consistent",
  "cached",
  "delegated",
]);
export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/**
 * Where the runtime sets up the container's kernel interfaces: runc's escapes (CVE-2019-19921,
 * CVE-2024-21626, CVE-2025-31133) came through mounts onto, or a working directory in, these.
 */
const RUNTIME_PATHS = /^\/+(proc|sys|dev)(\/|$)/;

/** Why a path inside the container may not be a mount target or working directory. */
function containerPathProblem(given: string): string | undefined {
  if (!given.startsWith("/")) return `"${given}" is not an absolute container path`;
  // As the engine cleans it: `/tmp/../proc` is /proc.
  const path = posix.normalize(given);
  if (RUNTIME_PATHS.test(path) && !/^\/+dev\/+shm(\/|$)/.test(path))
    return `"${given}" is under /proc, /sys or /dev, which the runtime sets up`;
  return undefined;
}

/** Not given, or given as the engine's own default: nothing for a rule to look at. */
export function unset(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && Object.keys(v as object).length === 0;
}

/**
 * The one decision for a non-admin's create body. Every field is looked at through the tables
 * above; a field missing from them (none: a test walks the schema) would be refused.
 */
export async function vetCreate(body: ContainerCreate, ctx: SafetyContext): Promise<Vetted> {
  const problems: string[] = [];
  const volumesToCreate = new Set<string>();
  const out: ContainerCreate = structuredClone(body);
  const s = ctx.settings;

  for (const [key, value] of Object.entries(body)) {
    if (unset(value)) continue;
    const rule = CONFIG_RULES[key] ?? "admin";
    if (rule === "admin") problems.push(`${key}: only admins may set this`);
  }
  // Anonymous volumes live in the engine's storage; their keys are paths inside the container.
  for (const target of Object.keys(body.Volumes ?? {})) {
    const problem = containerPathProblem(target);
    if (problem) problems.push(`Volumes: ${problem}`);
  }
  if (body.WorkingDir) {
    const problem = containerPathProblem(body.WorkingDir);
    if (problem) problems.push(`WorkingDir: ${problem}`);
  }

  const h = body.HostConfig;
  if (h) {
    const oh = out.HostConfig!;
    for (const [key, value] of Object.entries(h)) {
      if (unset(value) && key !== "MaskedPaths" && key !== "ReadonlyPaths") continue;
      if (value === null || value === undefined) continue;
      const rule = (HOST_CONFIG_RULES as Record<string, FieldRule>)[key] ?? "admin";
      if (rule === "admin") problems.push(`HostConfig.${key}: only admins may set this`);
    }
    const no = (field: string, why: string) => problems.push(`HostConfig.${field}: ${why}`);

    if (h.Privileged === true && !s.allow_privileged)
      no("Privileged", "privileged containers are not allowed");
    for (const field of ["MaskedPaths", "ReadonlyPaths"] as const) {
      // Even [] counts: it un-masks /proc/kcore, /proc/sysrq-trigger and the rest.
      if (h[field] !== undefined && h[field] !== null && !s.allow_privileged)
        no(field, "changing the paths the runtime hides from containers is not allowed");
    }
    for (const opt of h.SecurityOpt ?? []) {
      if (!SAFE_SECURITY_OPTS.test(opt) && !s.allow_privileged)
        no("SecurityOpt", `"${opt}" is not allowed (only no-new-privileges)`);
    }
    if (!unset(h.CapAdd) && !s.allow_capabilities) no("CapAdd", "added capabilities are not allowed");
    if (!s.allow_devices) {
      for (const field of [
        "Devices",
        "DeviceRequests",
        "DeviceCgroupRules",
        "BlkioWeightDevice",
        "BlkioDeviceReadBps",
        "BlkioDeviceWriteBps",
        "BlkioDeviceReadIOps",
        "BlkioDeviceWriteIOps",
      ] as const) {
        if (!unset(h[field])) no(field, "host devices are not allowed");
      }
    }
    if (h.OomScoreAdj !== undefined && h.OomScoreAdj !== null && h.OomScoreAdj < 0)
      no(
        "OomScoreAdj",
        "a negative score (spared by the OOM killer before the host's own processes) is not allowed",
      );
    if (!DEFAULT_RUNTIMES.has(h.Runtime ?? ""))
      no("Runtime", `runtime "${h.Runtime}" is not allowed (runc only)`);
    if (!DEFAULT_ISOLATION.has(h.Isolation ?? "")) no("Isolation", "only the default isolation is allowed");
    if (h.LogConfig) {
      const type = h.LogConfig.Type ?? "";
      if (!LOCAL_LOG_DRIVERS.has(type))
        no("LogConfig.Type", `log driver "${type}" is not allowed (json-file, local or none)`);
      for (const option of Object.keys(h.LogConfig.Config ?? {})) {
        if (!LOCAL_LOG_OPTIONS.has(option))
          no(
            "LogConfig.Config",
            `log option "${option}" is not allowed (${[...LOCAL_LOG_OPTIONS].join(", ")})`,
          );
      }
    }

    // Namespaces: the container's own, the host's (a setting), or an owned container's.
    const namespace = async (
      field: "PidMode" | "IpcMode" | "UTSMode" | "UsernsMode" | "CgroupnsMode" | "NetworkMode",
    ) => {
      const mode = h[field] ?? "";
      if (mode === "host") {
        if (!s.allow_host_namespaces) no(field, "the host's namespace is not allowed");
        return;
      }
      if (mode.startsWith("container:")) {
        if (field === "UTSMode" || field === "UsernsMode" || field === "CgroupnsMode") {
          no(field, `"${mode}" is not allowed`);
          return;
        }
        const found = await ctx.ownedContainer(mode.slice("container:".length));
        if ("id" in found) oh[field] = `container:${found.id}`;
        else no(field, found.refused);
        return;
      }
      return mode;
    };
    const pid = await namespace("PidMode");
    if (pid) no("PidMode", `"${pid}" is not a PID mode (host or container:<name>)`);
    const ipc = await namespace("IpcMode");
    if (ipc && !OWN_IPC.has(ipc)) no("IpcMode", `"${ipc}" is not allowed`);
    const uts = await namespace("UTSMode");
    if (uts) no("UTSMode", `"${uts}" is not allowed`);
    const userns = await namespace("UsernsMode");
    if (userns) no("UsernsMode", `"${userns}" is not allowed`);
    await namespace("CgroupnsMode");
    const network = await namespace("NetworkMode");
    if (network) {
      const problem = await networkProblem(network, ctx);
      if (problem) no("NetworkMode", problem);
    }

    // Other containers reached from this one: only the caller's own, and only safe ones.
    if (h.VolumesFrom) {
      oh.VolumesFrom = [];
      for (const entry of h.VolumesFrom) {
        const [ref = "", mode, ...rest] = entry.split(":");
        if (rest.length || (mode !== undefined && mode !== "ro" && mode !== "rw")) {
          no("VolumesFrom", `"${entry}" is not container[:ro|:rw]`);
          continue;
        }
        const found = await ctx.ownedContainer(ref);
        if ("id" in found) oh.VolumesFrom.push(mode ? `${found.id}:${mode}` : found.id);
        else no("VolumesFrom", found.refused);
      }
    }
    if (h.Links) oh.Links = await linksOf(h.Links, ctx, (why) => no("Links", why));

    for (const target of Object.keys(h.Tmpfs ?? {})) {
      const problem = containerPathProblem(target);
      if (problem) no("Tmpfs", problem);
    }
    for (const bind of h.Binds ?? []) {
      const problem = await bindProblem(bind, ctx, volumesToCreate);
      if (problem) no("Binds", problem);
    }
    for (const [i, m] of (h.Mounts ?? []).entries()) {
      for (const problem of await mountProblems(m, ctx, volumesToCreate)) no(`Mounts[${i}]`, problem);
    }
  }

  const endpoints = body.NetworkingConfig?.EndpointsConfig ?? {};
  for (const [network, settings] of Object.entries(endpoints)) {
    const vetted = await vetEndpoint(network, settings, ctx);
    for (const why of vetted.problems) problems.push(`NetworkingConfig.EndpointsConfig.${network}: ${why}`);
    out.NetworkingConfig!.EndpointsConfig![network] = vetted.settings;
  }

  return { problems, body: out, volumesToCreate: [...volumesToCreate] };
}

/**
 * A network a non-admin's container joins, at create or connected later: the engine's own bridge
 * or none, the host's (a setting), or one the caller's teams own; its endpoint settings through
 * ENDPOINT_RULES, links to owned containers only (replaced by their full ids).
 */
export async function vetEndpoint(
  network: string,
  settings: EndpointSettings | null,
  ctx: SafetyContext,
): Promise<{ problems: string[]; settings: EndpointSettings | null }> {
  const problems: string[] = [];
  const no = (why: string) => problems.push(why);
  if (network === "host") {
    if (!ctx.settings.allow_host_namespaces) no("the host's network is not allowed");
  } else {
    const problem = await networkProblem(network, ctx);
    if (problem) no(problem);
  }
  for (const [key, value] of Object.entries(settings ?? {})) {
    if (!unset(value) && (ENDPOINT_RULES as Record<string, FieldRule>)[key] === "admin")
      no(`${key}: only admins may set this`);
  }
  if (!settings?.Links) return { problems, settings };
  const Links = await linksOf(settings.Links, ctx, (why) => no(`Links: ${why}`));
  return { problems, settings: { ...settings, Links } };
}

async function linksOf(links: string[], ctx: SafetyContext, no: (why: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const link of links) {
    const [ref = "", alias, ...rest] = link.split(":");
    if (rest.length) {
      no(`"${link}" is not container[:alias]`);
      continue;
    }
    const found = await ctx.ownedContainer(ref.replace(/^\//, ""));
    if ("id" in found) out.push(alias ? `${found.id}:${alias}` : found.id);
    else no(found.refused);
  }
  return out;
}

/**
 * A network is the engine's own (bridge, none) or one the caller's teams own. Its name is one the
 * engine cannot read as a path (`a/../b` makes it answer with a redirect elsewhere).
 */
async function networkProblem(network: string, ctx: SafetyContext): Promise<string | undefined> {
  if (OWN_NETWORKS.has(network)) return undefined;
  if (!NETWORK_NAME.test(network)) return `"${network}" is not a network name this panel takes`;
  return (await ctx.ownsNetwork(network)) ? undefined : `network "${network}" is not one of your teams'`;
}

/** `source:target[:options]`: a host path (the bind rule) or a volume name (the volume rule). */
async function bindProblem(
  bind: string,
  ctx: SafetyContext,
  volumesToCreate: Set<string>,
): Promise<string | undefined> {
  const parts = bind.split(":");
  if (parts.length < 2 || parts.length > 3) return `"${bind}" is not source:target[:options]`;
  const [source = "", target = "", options = ""] = parts;
  const targetProblem = containerPathProblem(target);
  if (targetProblem) return `"${bind}": ${targetProblem}`;
  for (const option of options.split(",").filter(Boolean)) {
    if (!SAFE_BIND_OPTIONS.has(option))
      return `"${bind}": option "${option}" is not allowed (ro, rw, nocopy; no relabelling or shared propagation)`;
  }
  if (source.startsWith("/")) return hostPathProblem(source, ctx.settings, ctx.onThisMachine);
  return volumeProblem(source, ctx, volumesToCreate);
}

async function mountProblems(m: Mount, ctx: SafetyContext, volumesToCreate: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(m)) {
    if (!unset(value) && (MOUNT_RULES as Record<string, FieldRule>)[key] === "admin")
      problems.push(`${key}: only admins may set this`);
  }
  const targetProblem = containerPathProblem(m.Target ?? "");
  if (targetProblem) problems.push(`Target: ${targetProblem}`);
  const type = m.Type ?? "volume";
  if (type === "bind") {
    const b = m.BindOptions;
    if (b?.Propagation && b.Propagation !== "private" && b.Propagation !== "rprivate")
      problems.push(`BindOptions.Propagation "${b.Propagation}" is not allowed`);
    if (b?.CreateMountpoint)
      problems.push("BindOptions.CreateMountpoint (making host directories) is not allowed");
    const problem = hostPathProblem(m.Source ?? "", ctx.settings, ctx.onThisMachine);
    if (problem) problems.push(problem);
  } else if (type === "volume") {
    const v = m.VolumeOptions;
    if (v?.DriverConfig && !unset(v.DriverConfig))
      problems.push("VolumeOptions.DriverConfig (volume driver options can bind host paths) is not allowed");
    if (v?.Subpath) problems.push("VolumeOptions.Subpath is not allowed");
    if (!unset(m.BindOptions)) problems.push("BindOptions belong to bind mounts");
    if (m.Source) {
      const problem = await volumeProblem(m.Source, ctx, volumesToCreate);
      if (problem) problems.push(problem);
    }
  } else if (type === "tmpfs") {
    if (m.Source) problems.push("a tmpfs mount takes no Source");
    if (!unset(m.BindOptions) || !unset(m.VolumeOptions))
      problems.push("a tmpfs mount takes tmpfs options only");
  } else {
    problems.push(`mounts of type "${type}" are not allowed (bind, volume or tmpfs)`);
  }
  return problems;
}

async function volumeProblem(
  name: string,
  ctx: SafetyContext,
  volumesToCreate: Set<string>,
): Promise<string | undefined> {
  if (!VOLUME_NAME.test(name)) return `"${name}" is neither an absolute host path nor a volume name`;
  const found = await ctx.volume(name);
  if (found === "missing") volumesToCreate.add(name);
  else if (found !== "owned") return `volume "${name}": ${found.refused}`;
  return undefined;
}
