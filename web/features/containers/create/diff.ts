/**
 * What an edit changes, field by field (shown before it is applied), and whether the engine can
 * apply it in place (`/containers/{id}/update`) instead of making the container again.
 */
import { type CreateSpec, formatPort, formatVolume, parseSize } from "./spec.ts";

export interface FieldChange {
  field: keyof CreateSpec;
  label: string;
  before: string;
  after: string;
}

const LABELS: Record<keyof CreateSpec, string> = {
  image: "Image",
  name: "Name",
  cmd: "Command",
  entrypoint: "Entrypoint",
  env: "Environment",
  ports: "Ports",
  mounts: "Volumes and binds",
  network: "Network",
  aliases: "Aliases",
  ipv4: "IPv4 address",
  restart: "Restart policy",
  restartRetries: "Restart retries",
  cpus: "CPUs",
  memory: "Memory",
  pids: "Process limit",
  labels: "Labels",
  health: "Health check",
  user: "User",
  workdir: "Working directory",
  hostname: "Hostname",
  dns: "DNS servers",
  capAdd: "Added capabilities",
  capDrop: "Dropped capabilities",
  devices: "Devices",
  gpus: "GPUs",
  logDriver: "Log driver",
  logOpts: "Log options",
  tty: "Terminal",
  interactive: "Keep stdin open",
  autoRemove: "Remove when it exits",
  privileged: "Privileged",
  readOnly: "Read-only root filesystem",
  init: "Init process",
};

/** One field as people read it: lists one item a line. */
function shown<K extends keyof CreateSpec>(field: K, value: CreateSpec[K]): string {
  if (field === "ports") return (value as CreateSpec["ports"]).map(formatPort).join("\n");
  if (field === "mounts")
    return (value as CreateSpec["mounts"])
      .map((m) => (m.kind === "tmpfs" ? `tmpfs ${m.target}` : formatVolume(m)))
      .join("\n");
  if (field === "labels" || field === "logOpts")
    return (value as [string, string][]).map(([k, v]) => `${k}=${v}`).join("\n");
  if (field === "health") {
    const h = value as CreateSpec["health"];
    return h
      ? [h.cmd, h.interval && `every ${h.interval}`, h.timeout && `timeout ${h.timeout}`]
          .filter(Boolean)
          .join(", ")
      : "";
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.join("\n");
  return String(value ?? "");
}

export function specDiff(before: CreateSpec, after: CreateSpec): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of Object.keys(LABELS) as (keyof CreateSpec)[]) {
    const was = shown(field, before[field]);
    const now = shown(field, after[field]);
    if (was !== now) changes.push({ field, label: LABELS[field], before: was, after: now });
  }
  return changes;
}

const IN_PLACE = new Set<keyof CreateSpec>(["cpus", "memory", "pids", "restart", "restartRetries"]);

/**
 * The `/update` body for these changes, when limits and the restart policy are all that changed
 * and no limit is taken away (the engine reads 0 there as "unchanged": removing a limit needs a
 * new container). Otherwise null: the edit recreates.
 */
export function inPlaceUpdate(after: CreateSpec, changes: FieldChange[]): Record<string, unknown> | null {
  if (!changes.length || changes.some((c) => !IN_PLACE.has(c.field))) return null;
  const body: Record<string, unknown> = {};
  for (const c of changes) {
    if ((c.field === "cpus" || c.field === "memory" || c.field === "pids") && !c.after.trim()) return null;
    if (c.field === "cpus") body.NanoCpus = Math.round(Number(after.cpus) * 1e9);
    if (c.field === "memory") {
      const memory = parseSize(after.memory, "memory");
      // What a create with this limit gets: swap as large again (a smaller one than before refuses a larger limit).
      body.Memory = memory;
      body.MemorySwap = memory * 2;
    }
    if (c.field === "pids") body.PidsLimit = Number(after.pids);
    if (c.field === "restart" || c.field === "restartRetries") {
      body.RestartPolicy = {
        Name: after.restart,
        MaximumRetryCount:
          after.restart === "on-failure" && after.restartRetries ? Number(after.restartRetries) : 0,
      };
    }
  }
  return body;
}
