/** The networks of the current environment: live list, who is attached, and the API's changes. */
import { topic } from "../../../src/protocol/topics.ts";
import type { ContainerItem, NetworkItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { api } from "../../lib/api.ts";
import { useLiveCollection } from "../../lib/live.ts";

export function useLiveNetworks() {
  return useLiveCollection<NetworkItem>(topic.networks(useEnv().id));
}

/** Containers naming a network, from the containers topic (already only those the user may see). */
export function attached(network: NetworkItem, containers: ContainerItem[] | null): ContainerItem[] {
  return (containers ?? []).filter((c) => c.networks.includes(network.name));
}

/** Running (or paused) containers have an endpoint: the engine refuses to remove a network under them. */
export const hasEndpoint = (c: ContainerItem) =>
  c.state === "running" || c.state === "paused" || c.state === "restarting";

const base = (env: string) => `/envs/${encodeURIComponent(env)}/networks`;
const one = (env: string, id: string) => `${base(env)}/${encodeURIComponent(id)}`;

export interface NetworkForm {
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  ipRange: string;
  ipv6Subnet: string;
  internal: boolean;
  attachable: boolean;
  ipv6: boolean;
  parent: string;
  labels: string;
}

/** The form as the API's NetworkCreateRequest: empty fields left out, labels one `key=value` a line. */
export function createBody(f: NetworkForm): Record<string, unknown> {
  const config = [];
  if (f.subnet.trim())
    config.push({
      Subnet: f.subnet.trim(),
      ...(f.gateway.trim() ? { Gateway: f.gateway.trim() } : {}),
      ...(f.ipRange.trim() ? { IPRange: f.ipRange.trim() } : {}),
    });
  if (f.ipv6 && f.ipv6Subnet.trim()) config.push({ Subnet: f.ipv6Subnet.trim() });
  const labels: Record<string, string> = {};
  for (const line of f.labels.split("\n")) {
    const text = line.trim();
    if (!text) continue;
    const i = text.indexOf("=");
    labels[i < 0 ? text : text.slice(0, i).trim()] = i < 0 ? "" : text.slice(i + 1).trim();
  }
  return {
    Name: f.name.trim(),
    Driver: f.driver,
    ...(f.internal ? { Internal: true } : {}),
    ...(f.attachable ? { Attachable: true } : {}),
    ...(f.ipv6 ? { EnableIPv6: true } : {}),
    ...(config.length ? { IPAM: { Config: config } } : {}),
    ...(f.parent.trim() && f.driver !== "bridge" && f.driver !== "overlay"
      ? { Options: { parent: f.parent.trim() } }
      : {}),
    ...(Object.keys(labels).length ? { Labels: labels } : {}),
  };
}

export const createNetwork = (env: string, body: Record<string, unknown>) =>
  api<{ id: string; warning: string }>("POST", base(env), body);
export const removeNetwork = (env: string, id: string) => api("DELETE", one(env, id));
export const connect = (env: string, id: string, body: unknown) =>
  api("POST", `${one(env, id)}/connect`, body);
export const disconnect = (env: string, id: string, container: string) =>
  api("POST", `${one(env, id)}/disconnect`, { Container: container });
export const inspectNetwork = (env: string, id: string) => api<Record<string, unknown>>("GET", one(env, id));
export const prunePreview = (env: string) =>
  api<{ networks: { id: string; name: string }[] }>("GET", `${base(env)}/prune`);
export const prune = (env: string) =>
  api<{ networks: { id: string; name: string }[] }>("POST", `${base(env)}/prune`);

/** The addresses of a network, one line: "172.20.0.0/16 via 172.20.0.1". */
export function subnetText(n: NetworkItem): string {
  return n.subnets.map((s) => s.subnet).join(", ") || "—";
}
export function gatewayText(n: NetworkItem): string {
  return (
    n.subnets
      .map((s) => s.gateway)
      .filter(Boolean)
      .join(", ") || "—"
  );
}
