import type { Audience } from "../auth/policy.ts";
import type { Environment } from "../envs/environments.ts";
import { listOf } from "../envs/environments.ts";
import { NotFound } from "../envs/resolve.ts";
import { NETWORKS } from "./kind.ts";
import type { NetworkView } from "./view.ts";

/**
 * Whether an audience sees a network: the engine's own (bridge, host, none) everyone does; any
 * other by its team label alone. No container is named "", so the audience's containers assigned
 * by name can never make a network theirs.
 */
export function seesNetwork(audience: Audience, network: NetworkView): boolean {
  return audience.key === "*" || network.builtin || audience.sees({ name: "", labels: network.labels });
}

/** Whether an audience may change a network: its team's, never the engine's own (admins: any). */
export function ownsNetwork(audience: Audience, network: NetworkView): boolean {
  return audience.key === "*" || (!network.builtin && audience.sees({ name: "", labels: network.labels }));
}

/**
 * A network of an environment by full id, name, or unique id prefix (as the engine resolves them),
 * from the mirror: an unknown name costs no engine call (the mirror follows the engine's events, and
 * the panel's own create reads the list again before it answers).
 */
export function findNetwork(env: Environment, ref: string): NetworkView | undefined {
  const list = listOf(env, NETWORKS).list();
  const exact = list.find((n) => n.id === ref) ?? list.find((n) => n.name === ref);
  if (exact) return exact;
  const prefixed = /^[0-9a-f]+$/.test(ref) ? list.filter((n) => n.id.startsWith(ref)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** The network a caller named, if its audience sees it; else the same "not found" as a missing one. */
export function visibleNetwork(env: Environment, audience: Audience, ref: string): NetworkView {
  const network = findNetwork(env, ref);
  if (!network || !seesNetwork(audience, network))
    throw new NotFound(`no network "${ref}" in environment "${env.id}"`);
  return network;
}

/**
 * The containers that name a network, as far as the caller may see them, from the container
 * mirror (a stopped container keeps its networks and has no endpoint: it is listed with its state).
 */
export function attachedTo(
  env: Environment,
  audience: Audience,
  network: NetworkView,
): { id: string; name: string; state: string }[] {
  return env.containers
    .list()
    .filter((c) => c.networks.includes(network.name) && audience.sees(c))
    .map((c) => ({ id: c.id, name: c.name, state: c.state }));
}
