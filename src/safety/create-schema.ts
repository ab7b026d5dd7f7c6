import * as z from "zod/mini";

/**
 * Docker's ContainerCreate body (api/swagger.yaml of the Engine API: ContainerConfig, HostConfig
 * with Resources, NetworkingConfig), as an allowlist: every object is strict, so a key the engine
 * would read but this schema does not name — another case (`hostconfig`), a Unicode folding
 * (`HoſtConfig`), a client library's private key (`_body`) — is refused instead of passed on.
 * The engine gets JSON made from the parsed value alone, never the caller's object.
 *
 * `null` is taken wherever the engine takes it (Go reads it as "not given"). Integers are JSON
 * integers: the engine refuses fractions, so this refuses them first with the field's name.
 */
/** Case-insensitively and with Unicode's simple folding (ſ is s, K is k), as Go's decoder compares. */
const foldKey = (k: string) =>
  k
    .toLowerCase()
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k");

/**
 * A strict object whose refusal of an unknown key says which key was meant when the caller's only
 * differs in case or folding: the engine would have taken it, so the difference is the point.
 */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== "unrecognized_keys") return undefined;
      return issue.keys
        .map((k) => {
          const meant = known.find((c) => foldKey(c) === foldKey(k));
          return meant
            ? `unknown field "${k}" (field names are exact: "${meant}")`
            : `unknown field "${k}" (not a field of the Docker Engine API here)`;
        })
        .join("; ");
    },
  });
}

export const opt = <T extends z.ZodMiniType>(t: T) => z.optional(z.nullable(t));
const str = z.string();
const int = z.int();
const bool = z.boolean();
const strings = z.array(z.string());
const stringMap = z.record(z.string(), z.string());
const emptyObject = strict({});

const HealthConfig = strict({
  Test: opt(strings),
  Interval: opt(int),
  Timeout: opt(int),
  Retries: opt(int),
  StartPeriod: opt(int),
  StartInterval: opt(int),
});

const ThrottleDevice = strict({ Path: opt(str), Rate: opt(int) });

export const MountSchema = strict({
  Target: opt(str),
  Source: opt(str),
  Type: opt(z.enum(["bind", "cluster", "image", "npipe", "tmpfs", "volume"])),
  ReadOnly: opt(bool),
  Consistency: opt(str),
  BindOptions: opt(
    strict({
      Propagation: opt(z.enum(["private", "rprivate", "shared", "rshared", "slave", "rslave"])),
      NonRecursive: opt(bool),
      CreateMountpoint: opt(bool),
      ReadOnlyNonRecursive: opt(bool),
      ReadOnlyForceRecursive: opt(bool),
    }),
  ),
  VolumeOptions: opt(
    strict({
      NoCopy: opt(bool),
      Labels: opt(stringMap),
      DriverConfig: opt(strict({ Name: opt(str), Options: opt(stringMap) })),
      Subpath: opt(str),
    }),
  ),
  ImageOptions: opt(strict({ Subpath: opt(str) })),
  TmpfsOptions: opt(
    strict({
      SizeBytes: opt(int),
      Mode: opt(int),
      Options: opt(z.array(z.array(str).check(z.minLength(1), z.maxLength(2)))),
    }),
  ),
});
export type Mount = z.output<typeof MountSchema>;

const Resources = {
  CpuShares: opt(int),
  Memory: opt(int),
  CgroupParent: opt(str),
  BlkioWeight: opt(int),
  BlkioWeightDevice: opt(z.array(strict({ Path: opt(str), Weight: opt(int) }))),
  BlkioDeviceReadBps: opt(z.array(ThrottleDevice)),
  BlkioDeviceWriteBps: opt(z.array(ThrottleDevice)),
  BlkioDeviceReadIOps: opt(z.array(ThrottleDevice)),
  BlkioDeviceWriteIOps: opt(z.array(ThrottleDevice)),
  CpuPeriod: opt(int),
  CpuQuota: opt(int),
  CpuRealtimePeriod: opt(int),
  CpuRealtimeRuntime: opt(int),
  CpusetCpus: opt(str),
  CpusetMems: opt(str),
  Devices: opt(
    z.array(strict({ PathOnHost: opt(str), PathInContainer: opt(str), CgroupPermissions: opt(str) })),
  ),
  DeviceCgroupRules: opt(strings),
  DeviceRequests: opt(
    z.array(
      strict({
        Driver: opt(str),
        Count: opt(int),
        DeviceIDs: opt(strings),
        Capabilities: opt(z.array(strings)),
        Options: opt(stringMap),
      }),
    ),
  ),
  MemoryReservation: opt(int),
  MemorySwap: opt(int),
  MemorySwappiness: opt(int),
  NanoCpus: opt(int),
  OomKillDisable: opt(bool),
  Init: opt(bool),
  PidsLimit: opt(int),
  Ulimits: opt(z.array(strict({ Name: opt(str), Soft: opt(int), Hard: opt(int) }))),
  CpuCount: opt(int),
  CpuPercent: opt(int),
  IOMaximumIOps: opt(int),
  IOMaximumBandwidth: opt(int),
};

export const HostConfigSchema = strict({
  ...Resources,
  Binds: opt(strings),
  ContainerIDFile: opt(str),
  LogConfig: opt(strict({ Type: opt(str), Config: opt(stringMap) })),
  NetworkMode: opt(str),
  PortBindings: opt(
    z.record(z.string(), z.nullable(z.array(strict({ HostIp: opt(str), HostPort: opt(str) })))),
  ),
  RestartPolicy: opt(
    strict({
      Name: opt(z.enum(["", "no", "always", "unless-stopped", "on-failure"])),
      MaximumRetryCount: opt(int),
    }),
  ),
  AutoRemove: opt(bool),
  VolumeDriver: opt(str),
  VolumesFrom: opt(strings),
  Mounts: opt(z.array(MountSchema)),
  ConsoleSize: opt(z.array(int).check(z.length(2))),
  Annotations: opt(stringMap),
  CapAdd: opt(strings),
  CapDrop: opt(strings),
  CgroupnsMode: opt(z.enum(["", "private", "host"])),
  Dns: opt(strings),
  DnsOptions: opt(strings),
  DnsSearch: opt(strings),
  ExtraHosts: opt(strings),
  GroupAdd: opt(strings),
  IpcMode: opt(str),
  Cgroup: opt(str),
  Links: opt(strings),
  OomScoreAdj: opt(int),
  PidMode: opt(str),
  Privileged: opt(bool),
  PublishAllPorts: opt(bool),
  ReadonlyRootfs: opt(bool),
  SecurityOpt: opt(strings),
  StorageOpt: opt(stringMap),
  Tmpfs: opt(stringMap),
  UTSMode: opt(str),
  UsernsMode: opt(str),
  ShmSize: opt(int),
  Sysctls: opt(stringMap),
  Runtime: opt(str),
  Isolation: opt(z.enum(["", "default", "process", "hyperv"])),
  MaskedPaths: opt(strings),
  ReadonlyPaths: opt(strings),
});
export type HostConfig = z.output<typeof HostConfigSchema>;

export const EndpointSettingsSchema = strict({
  IPAMConfig: opt(strict({ IPv4Address: opt(str), IPv6Address: opt(str), LinkLocalIPs: opt(strings) })),
  Links: opt(strings),
  MacAddress: opt(str),
  Aliases: opt(strings),
  DriverOpts: opt(stringMap),
  GwPriority: opt(int),
  NetworkID: opt(str),
  EndpointID: opt(str),
  Gateway: opt(str),
  IPAddress: opt(str),
  IPPrefixLen: opt(int),
  IPv6Gateway: opt(str),
  GlobalIPv6Address: opt(str),
  GlobalIPv6PrefixLen: opt(int),
  DNSNames: opt(strings),
});
export type EndpointSettings = z.output<typeof EndpointSettingsSchema>;

/** Docker's own rule for container names; a leading "/" (as inspect shows names) is allowed. */
export const ContainerName = z
  .string()
  .check(z.regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "container names are [a-zA-Z0-9][a-zA-Z0-9_.-]+"));

export const ContainerCreateSchema = strict({
  /** The panel's own addition: the container's name (the engine takes it in the query string). */
  name: z.optional(ContainerName),
  Hostname: opt(str),
  Domainname: opt(str),
  User: opt(str),
  AttachStdin: opt(bool),
  AttachStdout: opt(bool),
  AttachStderr: opt(bool),
  ExposedPorts: opt(z.record(z.string(), emptyObject)),
  Tty: opt(bool),
  OpenStdin: opt(bool),
  StdinOnce: opt(bool),
  Env: opt(strings),
  Cmd: opt(strings),
  Healthcheck: opt(HealthConfig),
  ArgsEscaped: opt(bool),
  Image: z.string().check(z.minLength(1)),
  Volumes: opt(z.record(z.string(), emptyObject)),
  WorkingDir: opt(str),
  Entrypoint: opt(strings),
  NetworkDisabled: opt(bool),
  OnBuild: opt(strings),
  Labels: opt(stringMap),
  StopSignal: opt(str),
  StopTimeout: opt(int),
  Shell: opt(strings),
  HostConfig: opt(HostConfigSchema),
  NetworkingConfig: opt(
    strict({ EndpointsConfig: opt(z.record(z.string(), z.nullable(EndpointSettingsSchema))) }),
  ),
});
export type ContainerCreate = z.output<typeof ContainerCreateSchema>;

/** Docker's rule for volume names (at least two characters). */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const VolumeName = z
  .string()
  .check(z.maxLength(255), z.regex(VOLUME_NAME, "volume names are [a-zA-Z0-9][a-zA-Z0-9_.-]+"));

/** Docker's VolumeCreateOptions body, read as strictly as a container's (see the top of this file). */
export const VolumeCreateSchema = strict({
  Name: VolumeName,
  Driver: opt(str),
  DriverOpts: opt(stringMap),
  Labels: opt(stringMap),
  ClusterVolumeSpec: opt(z.record(z.string(), z.unknown())),
});
export type VolumeCreate = z.output<typeof VolumeCreateSchema>;
