import type { ContainerCreate, HostConfig, Mount } from "./create-schema.ts";
import { type SafetyContext, vetCreate } from "./rules.ts";

/** The part of an engine's inspect answer that says what a container was given. */
export interface InspectAnswer {
  HostConfig?: Partial<Record<keyof HostConfig, unknown>> | null;
  Mounts?: { Type?: string; Source?: string; Name?: string; Destination?: string }[] | null;
}

/**
 * What Docker's engine masks and makes read-only in every unprivileged container (moby's
 * oci/defaults.go; 20.10's lists, which later versions only add to).
 */
const DEFAULT_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];
const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Fields whose inspected value is the engine's choice unless the create body chose otherwise. */
const CARRIED = [
  "Privileged",
  "PidMode",
  "IpcMode",
  "UTSMode",
  "UsernsMode",
  "NetworkMode",
  "CapAdd",
  "Devices",
  "DeviceRequests",
  "DeviceCgroupRules",
  "SecurityOpt",
  "Sysctls",
  "CgroupParent",
  "OomScoreAdj",
  "OomKillDisable",
  "VolumesFrom",
  "Links",
] as const;

/**
 * Why a non-admin may not have a shell in a container that exists already (made by an admin, or
 * outside the panel): the same rules as a create, applied to what the engine says the container
 * has. Inspect fills in the engine's defaults, so only what can differ from them is carried over:
 * CgroupnsMode is "host" by default on cgroup v1 and gives a shell nothing of the host; the masked
 * and read-only paths count only when they were emptied.
 */
export async function vetRunning(inspect: InspectAnswer, ctx: SafetyContext): Promise<string[]> {
  const h = inspect.HostConfig ?? {};
  const hostConfig: Record<string, unknown> = {};
  for (const field of CARRIED) if (h[field] !== undefined) hostConfig[field] = h[field];
  // A list that lost any of the engine's defaults un-masks as much as an empty one (the rest of
  // /proc/sys writable is enough to set the host's core_pattern).
  for (const [field, defaults] of [
    ["MaskedPaths", DEFAULT_MASKED_PATHS],
    ["ReadonlyPaths", DEFAULT_READONLY_PATHS],
  ] as const) {
    const given = new Set(Array.isArray(h[field]) ? (h[field] as string[]) : []);
    if (h.Privileged !== true && defaults.some((p) => !given.has(p))) hostConfig[field] = [];
  }
  if (h.Runtime !== undefined) hostConfig.Runtime = h.Runtime;
  // A network that is not the caller's: the container is, and its network was its creator's choice.
  if (
    typeof h.NetworkMode === "string" &&
    h.NetworkMode !== "host" &&
    !h.NetworkMode.startsWith("container:")
  )
    delete hostConfig.NetworkMode;
  // Links show as "/other:/self/alias" in inspect: the other container is what matters.
  if (Array.isArray(h.Links))
    hostConfig.Links = (h.Links as string[]).map((l) => l.split(":")[0]!.replace(/^\//, ""));
  hostConfig.Mounts = (inspect.Mounts ?? []).flatMap((m): Mount[] =>
    m.Type === "bind"
      ? [{ Type: "bind", Source: m.Source ?? "", Target: m.Destination ?? "" }]
      : m.Type === "volume" && m.Name
        ? [{ Type: "volume", Source: m.Name, Target: m.Destination ?? "" }]
        : [],
  );
  const vetted = await vetCreate({ Image: "inspected", HostConfig: hostConfig } as ContainerCreate, {
    ...ctx,
    // Its volumes were its creator's choice (anonymous ones carry no team): what a shell must not
    // reach is the host, through a volume that binds a host directory.
    volume: async (name) => {
      const found = await ctx.volume(name);
      return typeof found === "object" && found.hostBind ? found : "owned";
    },
  });
  return vetted.problems;
}
