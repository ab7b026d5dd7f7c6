import type { NetworkItem, NetworkSubnet } from "../protocol/views.ts";

export type NetworkView = NetworkItem;

/** A network as the engine's /networks list (and inspect) give it. */
export interface NetworkAnswer {
  Id: string;
  Name: string;
  Driver?: string;
  Scope?: string;
  Created?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null } | null;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  /** inspect only: the endpoints, by container id */
  Containers?: Record<string, { Name?: string }> | null;
}

/** The networks every engine makes for itself: they cannot be removed, and everyone may see them. */
export const BUILTIN_NETWORKS: ReadonlySet<string> = new Set(["bridge", "host", "none"]);

export function networkView(n: NetworkAnswer): NetworkView {
  const subnets: NetworkSubnet[] = (n.IPAM?.Config ?? []).map((c) => ({
    subnet: c.Subnet ?? "",
    gateway: c.Gateway || null,
    ip_range: c.IPRange || null,
  }));
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver ?? "",
    scope: n.Scope ?? "",
    created: n.Created ?? "",
    internal: n.Internal ?? false,
    attachable: n.Attachable ?? false,
    ingress: n.Ingress ?? false,
    ipv6: n.EnableIPv6 ?? false,
    subnets,
    labels: n.Labels ?? {},
    options: n.Options ?? {},
    builtin: BUILTIN_NETWORKS.has(n.Name),
  };
}
