import type { Action } from "../auth/actions.ts";
import type { Audience, Policy } from "../auth/policy.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame, type Message } from "../stream/frames.ts";
import type { Environment, Environments } from "./environments.ts";
import type { ListChange } from "./list-mirror.ts";
import { envFor } from "./resolve.ts";

/** What makes one kind of engine object a live list on the stream (`<family>:<env>`). */
export interface CollectionTopic<V extends { id: string }, W> {
  /** the topic family: "containers", "images", … */
  family: string;
  /** what a subscriber needs: "containers:read", … */
  action: Action;
  items(env: Environment): V[];
  /** every change of every environment's list */
  follow(listener: (envId: string, change: ListChange<V>) => void): void;
  /** whether an audience (callers who see the same objects) sees this one */
  visible(audience: Audience, item: V): boolean;
  /** what goes on the wire of it, for this audience on this environment */
  wire(item: V, audience: Audience, env: Environment): W;
}

/**
 * `<family>:<env>`: the mirror's list, then every change to it — each subscriber only what it may
 * see. A change is encoded once per audience, not once per subscriber; when team ownership
 * changes, every subscriber gets a fresh snapshot.
 */
export function registerCollectionTopic<V extends { id: string }, W>(
  bus: TopicBus,
  { envs, policy }: { envs: Environments; policy: Policy },
  spec: CollectionTopic<V, W>,
): void {
  const { family } = spec;
  const envOf = (envId: string) => envFor(envs, envId);
  const wireList = (list: V[], audience: Audience, env: Environment) =>
    list.filter((item) => spec.visible(audience, item)).map((item) => spec.wire(item, audience, env));
  bus.register(family, {
    action: spec.action,
    resource: ([envId = ""]) => ({ env: envOf(envId).id }),
    open: ([envId = ""], { caller }) => {
      const env = envOf(envId);
      return [{ k: "snapshot", d: wireList(spec.items(env), policy.audience(caller, envId), env) }];
    },
  });

  const publish = (envId: string, make: (audience: Audience, env: Environment) => Message | undefined) => {
    const env = envs.get(envId);
    if (!env) return;
    const frames = new Map<string, Uint8Array | undefined>();
    const topic = `${family}:${envId}`;
    bus.publishEach(topic, (_sink, caller) => {
      const audience = policy.audience(caller, envId);
      if (!frames.has(audience.key)) {
        const m = make(audience, env);
        frames.set(audience.key, m && encodeFrame(topic, m));
      }
      return frames.get(audience.key);
    });
  };
  const snapshot = (envId: string, list: V[]) =>
    publish(envId, (a, env) => ({ k: "snapshot", d: wireList(list, a, env) }));

  spec.follow((envId, change) => {
    if (change.kind === "snapshot") snapshot(envId, change.items);
    else if (change.kind === "upsert") {
      const { item, before } = change;
      // Seen before and not now (its labels changed): gone, for this audience.
      publish(envId, (a, env) =>
        spec.visible(a, item)
          ? { k: "upsert", d: spec.wire(item, a, env) }
          : before && spec.visible(a, before)
            ? removal(item.id)
            : undefined,
      );
    } else publish(envId, (a) => (spec.visible(a, change.item) ? removal(change.id) : undefined));
  });
  policy.onOwnershipChange(() => {
    for (const topic of bus.topicNames(family)) {
      const env = envs.get(topic.slice(family.length + 1));
      if (env) snapshot(env.id, spec.items(env));
    }
  });
}

const removal = (id: string): Message => ({ k: "remove", d: { id } });
