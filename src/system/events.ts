import type { Audience, Owned } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import type { EngineEvent } from "../envs/connection.ts";
import { type Environment, listOf } from "../envs/environments.ts";
import { seesNetwork } from "../networks/access.ts";
import { NETWORKS } from "../networks/kind.ts";
import type { NetworkView } from "../networks/view.ts";
import type { EngineEventItem } from "../protocol/views.ts";

/**
 * An event and who may see it, decided when it came (a destroyed container's labels are gone later).
 * It keeps only what the decision needs, not the engine's event or a closure over it: an engine
 * holds up to KEPT_EVENTS of these, and a burst of changes fills them at once.
 */
export class KeptEvent {
  constructor(
    readonly item: EngineEventItem,
    private readonly rule: Rule,
  ) {}

  visible(audience: Audience): boolean {
    if (audience.key === "*") return true;
    const r = this.rule;
    switch (r.kind) {
      case "everyone":
        return true;
      case "owned":
        return audience.sees(r.owned);
      case "network":
        // A connect or disconnect names a container: its viewers must see that too.
        return (
          r.network !== undefined &&
          seesNetwork(audience, r.network) &&
          (!r.aboutContainer || (r.container !== undefined && audience.sees(r.container)))
        );
      case "whole-engine":
        return false;
    }
  }
}

type Rule =
  | { kind: "everyone" }
  | { kind: "whole-engine" }
  | { kind: "owned"; owned: Owned }
  | {
      kind: "network";
      network: NetworkView | undefined;
      aboutContainer: boolean;
      container: Owned | undefined;
    };

const EVERYONE: Rule = { kind: "everyone" };
const WHOLE_ENGINE: Rule = { kind: "whole-engine" };

/** What the mirrors held of an event's object when it came. */
interface Known {
  network: NetworkView | undefined;
  container: ContainerView | undefined;
}

/** How many of an engine's latest events are kept, for a viewer that opens after they came. */
export const KEPT_EVENTS = 500;

/**
 * The latest events of one engine, read from its one /events stream (never a stream per viewer),
 * each with the rule of who sees it: a container's, those who see the container; a network's,
 * those who see the network (and, for a connect or disconnect, the container); an image's, anyone
 * who may read events (images belong to no team); any other kind, only those who see the whole
 * engine. Events are handled in order; one about a network the mirror does not know yet (just
 * made) waits for the mirror's next read.
 */
export class EventLog {
  private kept: KeptEvent[] = [];
  private listeners = new Set<(event: KeptEvent) => void>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly env: Environment) {
    env.connection.onEvent((event) => {
      // Read now, while the mirrors still hold what a destroy removes.
      const type = event.Type ?? "container";
      const id = event.Actor?.ID ?? event.id ?? "";
      const containerId = type === "container" ? id : (event.Actor?.Attributes?.container ?? null);
      const known: Known = {
        network: type === "network" ? this.network(id) : undefined,
        container: containerId ? env.containers.find(containerId) : undefined,
      };
      this.queue = this.queue
        .then(() => this.keep(event, type, id, containerId, known))
        .catch((err) => console.error("ghostpanel: an engine event could not be kept", err));
    });
  }

  recent(): readonly KeptEvent[] {
    return this.kept;
  }

  onEvent(listener: (event: KeptEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private network(id: string): NetworkView | undefined {
    return this.env.lists.has(NETWORKS.name) ? listOf(this.env, NETWORKS).get(id) : undefined;
  }

  private async keep(
    event: EngineEvent,
    type: string,
    id: string,
    containerId: string | null,
    known: Known,
  ): Promise<void> {
    const attributes = event.Actor?.Attributes ?? {};
    const container = known.container;
    let rule = WHOLE_ENGINE;
    if (type === "container") {
      // A container's event carries its labels; the mirror's are the same while it exists.
      rule = { kind: "owned", owned: container ?? { name: attributes.name ?? "", labels: attributes } };
    } else if (type === "network") {
      let network = known.network;
      if (!network && this.env.lists.has(NETWORKS.name)) {
        await listOf(this.env, NETWORKS)
          .refresh()
          .catch(() => {});
        network = this.network(id);
      }
      rule = { kind: "network", network, aboutContainer: containerId !== null, container };
    } else if (type === "image") rule = EVERYONE;
    const item: EngineEventItem = {
      type,
      action: event.Action ?? event.status ?? "",
      id,
      name: attributes.name ?? null,
      container: containerId,
      container_name: type === "container" ? (attributes.name ?? null) : (container?.name ?? null),
      time_nano: event.timeNano ?? 0,
      attributes,
    };
    const kept = new KeptEvent(item, rule);
    this.kept.push(kept);
    if (this.kept.length > KEPT_EVENTS) this.kept.splice(0, this.kept.length - KEPT_EVENTS);
    for (const l of this.listeners) l(kept);
  }
}

const logs = new WeakMap<Environment, EventLog>();

/** The event log of an environment, started on first use (the events topic starts it for every engine). */
export function eventLogOf(env: Environment): EventLog {
  let log = logs.get(env);
  if (!log) {
    log = new EventLog(env);
    logs.set(env, log);
  }
  return log;
}

/** What a viewer asks to see: each given filter must match. */
export interface EventFilter {
  type?: string | undefined;
  action?: string | undefined;
  /** a container's id, id prefix or name */
  container?: string | undefined;
}

export function matchesFilter(item: EngineEventItem, f: EventFilter): boolean {
  if (f.type && item.type !== f.type) return false;
  // "exec_start: sh" and "health_status: healthy" are actions "exec_start" and "health_status".
  if (f.action && item.action.split(":")[0] !== f.action) return false;
  if (f.container) {
    const c = f.container;
    if (!(item.container?.startsWith(c) || item.container_name === c)) return false;
  }
  return true;
}
