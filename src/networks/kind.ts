import type { ListKind } from "../envs/list-mirror.ts";
import { type NetworkAnswer, type NetworkView, networkView } from "./view.ts";

/**
 * The engine's networks, read as a whole list after each burst of network events. The list has no
 * endpoints (the engine fills `Containers` on inspect only): who is attached comes from the
 * container mirror instead, which already knows each container's networks, so that no event costs
 * one inspect per network (src/networks/attached.ts).
 */
export const NETWORKS: ListKind<NetworkView> = {
  name: "networks",
  eventType: "network",
  capability: "networks",
  read: async (engine) => (await engine.get<NetworkAnswer[]>("/networks")).map(networkView),
  // A swarm manager lists a network it has not yet allocated with no driver and no subnets, and
  // says nothing when the allocation lands.
  unsettled: (n) => n.scope === "swarm" && n.driver === "",
};
