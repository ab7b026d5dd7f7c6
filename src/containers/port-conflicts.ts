import type { Audience } from "../auth/policy.ts";
import type { ContainerView } from "./view.ts";

type Bindings =
  | Record<string, { HostIp?: string | null; HostPort?: string | null }[] | null | undefined>
  | null
  | undefined;

const ANY = new Set(["", "0.0.0.0", "::"]);

/**
 * Host ports a new container asks for that a running container already publishes: the engine
 * would create it and then fail to start it ("port is already allocated"), so the form says so
 * first. Names only what the caller may see; a port range is checked port by port.
 */
export function portConflicts(
  bindings: Bindings,
  running: Iterable<ContainerView>,
  audience: Audience,
): string[] {
  const taken = new Map<string, { ip: string; by: ContainerView }[]>();
  for (const c of running) {
    if (c.state !== "running") continue;
    for (const p of c.ports) {
      if (!p.public) continue;
      const key = `${p.public}/${p.type}`;
      taken.set(key, [...(taken.get(key) ?? []), { ip: p.ip ?? "", by: c }]);
    }
  }
  const problems: string[] = [];
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const protocol = key.split("/")[1] ?? "tcp";
    for (const b of list ?? []) {
      const [from, to = from] = (b.HostPort ?? "").split("-").map(Number);
      if (!from || !to || to - from > 65535) continue;
      for (let port = from; port <= to; port++) {
        const clash = taken
          .get(`${port}/${protocol}`)
          ?.find((t) => ANY.has(t.ip) || ANY.has(b.HostIp ?? "") || t.ip === b.HostIp);
        if (!clash) continue;
        const who = audience.sees(clash.by) ? `container "${clash.by.name}"` : "another container";
        problems.push(`host port ${port}/${protocol} is already published by ${who}`);
      }
    }
  }
  return problems;
}
