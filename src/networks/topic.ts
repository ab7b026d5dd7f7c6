import type { Policy } from "../auth/policy.ts";
import { registerCollectionTopic } from "../envs/collection-topic.ts";
import { type Environments, listOf } from "../envs/environments.ts";
import type { NetworkItem } from "../protocol/views.ts";
import type { TopicBus } from "../stream/bus.ts";
import { seesNetwork } from "./access.ts";
import { followAttachments } from "./attachments.ts";
import { NETWORKS } from "./kind.ts";
import type { NetworkView } from "./view.ts";

/**
 * `networks:<env>`: the network mirror as a live list, each subscriber seeing the engine's own and
 * its teams'. Who is attached is not in these frames: clients join them with `containers:<env>`,
 * which is already filtered to what each may see (and kept current on connects: attachments.ts).
 */
export function registerNetworkTopic(bus: TopicBus, deps: { envs: Environments; policy: Policy }): void {
  registerCollectionTopic<NetworkView, NetworkItem>(bus, deps, {
    family: "networks",
    action: "networks:read",
    items: (env) => listOf(env, NETWORKS).list(),
    follow: (listener) => deps.envs.onList(NETWORKS, listener),
    visible: seesNetwork,
    wire: (n) => n,
  });
  followAttachments(deps.envs);
}
