import type { NetworkCreate } from "./network-schema.ts";
import { type FieldRule, unset } from "./rules.ts";

/**
 * How each field of NetworkCreateRequest is treated for a non-admin, as CONFIG_RULES are for a
 * container (docs/security.md lists both, with reasons; a test keeps them equal).
 */
export const NETWORK_CREATE_RULES: Record<keyof NetworkCreate, FieldRule> = {
  Name: "free",
  Driver: "checked",
  Scope: "admin",
  Internal: "free",
  Attachable: "free",
  Ingress: "admin",
  ConfigOnly: "admin",
  ConfigFrom: "admin",
  IPAM: "checked",
  EnableIPv4: "free",
  EnableIPv6: "free",
  Options: "checked",
  Labels: "checked",
};

/**
 * The drivers a non-admin may use, and the driver options each takes. macvlan and ipvlan put
 * containers on a host interface (`parent`) and so on the host's own LAN, past the engine's
 * firewall: admins only. A bridge's other options name host interfaces
 * (`com.docker.network.bridge.name` takes over docker0 or any bridge of the host), bind published
 * ports to host addresses, or route containers unprotected (`gateway_mode_ipv4=nat-unprotected`).
 */
const NON_ADMIN_OPTIONS: Record<string, ReadonlySet<string>> = {
  bridge: new Set([
    "com.docker.network.bridge.enable_icc",
    "com.docker.network.bridge.enable_ip_masquerade",
    "com.docker.network.driver.mtu",
  ]),
  overlay: new Set(["com.docker.network.driver.mtu", "encrypted"]),
};

/**
 * The one decision for a non-admin's network: one sentence per problem, each starting with its
 * field. The body itself is not changed (the route adds the team label).
 */
export function vetNetworkCreate(body: NetworkCreate): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (unset(value)) continue;
    const rule = (NETWORK_CREATE_RULES as Record<string, FieldRule>)[key] ?? "admin";
    if (rule === "admin") problems.push(`${key}: only admins may set this`);
  }
  const driver = body.Driver ?? "bridge";
  const allowed = NON_ADMIN_OPTIONS[driver];
  if (!allowed) {
    problems.push(
      `Driver: "${driver}" networks reach the host's own interfaces; only admins may make them (yours: bridge, or overlay on a swarm)`,
    );
  } else {
    for (const option of Object.keys(body.Options ?? {})) {
      if (!allowed.has(option))
        problems.push(`Options: "${option}" is not allowed (${[...allowed].join(", ")})`);
    }
  }
  const ipam = body.IPAM;
  if (ipam) {
    if (!unset(ipam.Driver) && ipam.Driver !== "default")
      problems.push(`IPAM.Driver: "${ipam.Driver}" is not allowed (the engine's default only)`);
    if (!unset(ipam.Options)) problems.push("IPAM.Options: only admins may set this");
  }
  return problems;
}
