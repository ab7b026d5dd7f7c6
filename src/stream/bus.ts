import type { Action } from "../auth/actions.ts";
import type { Caller, Owned, Policy } from "../auth/policy.ts";
import { NotFound } from "../envs/resolve.ts";
import { encodeFrame, type Message } from "./frames.ts";

/** A transport's end of one connection: WebSocket today, QUIC and agent tunnels later. */
export interface Sink {
  deliver(frame: Uint8Array): void;
  /**
   * For frames where only the newest matters: sends it unless the client is behind, in which case
   * it is dropped (false) and the client gets a later one instead of a growing queue.
   */
  offer(frame: Uint8Array): boolean;
  /** The topic ended on the server side (its source is gone); the sink is no longer subscribed. */
  ended(topic: string): void;
}

export interface SubscribeContext {
  caller: Caller;
  /** where the caller connects from, for the audit log, when the transport knows */
  address?: string;
  /** The subscribing end, for topics that keep per-subscriber state (what it last received). */
  sink: Sink;
  /** What the client sent beside `sub` (an `exec:` topic's command); each topic checks its own. */
  options?: unknown;
}

export class TopicError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Produces one kind of topic (`containers`, `logs`, …). The bus lets a subscriber in only when the
 * policy allows `action` on `resource(args)` (the topic's environment, and the container it is
 * about, if any); `open` then returns what that subscriber is sent first; `activate` runs while
 * the topic has any subscriber.
 */
export interface TopicSource {
  action: Action;
  /** What the topic is about; throws TopicError("not_found") when there is no such thing. */
  resource?(args: string[]): { env?: string; container?: Owned };
  open(args: string[], ctx: SubscribeContext): Promise<Message[]> | Message[];
  /** The policy kept a caller out (for topics whose refusals are audited). */
  refused?(args: string[], ctx: Omit<SubscribeContext, "sink">, refusal: TopicError): void;
  activate?(args: string[], out: TopicOutput): () => void;
  /** What a subscriber sends to the topic (keystrokes to a shell); only subscribers may send. */
  input?(args: string[], message: Message): void;
}

export interface TopicOutput {
  emit(m: Message): void;
  /** Sends a last message and lets every subscriber go. */
  end(m: Message): void;
}

interface Topic {
  /** each subscriber, with who subscribed it (what a filtered topic may send it) */
  sinks: Map<Sink, Caller>;
  deactivate?: () => void;
}

/** Past this a client message's payload is refused: a terminal sends keystrokes and pastes, not files. */
export const MAX_INPUT_BYTES = 64 * 1024;

/**
 * Topics named `<kind>[:<env>[:<id>]]`. A message is encoded once per publish and handed to every
 * sink; what a sink does with a slow client is the transport's business, never the publisher's.
 */
export class TopicBus {
  private sources = new Map<string, TopicSource>();
  private topics = new Map<string, Topic>();

  constructor(private readonly policy: Policy) {}

  register(kind: string, source: TopicSource): void {
    this.sources.set(kind, source);
  }

  /** Subscribes a sink; throws TopicError when the topic is unknown or refused. */
  async subscribe(name: string, sink: Sink, ctx: Omit<SubscribeContext, "sink">): Promise<void> {
    const [kind = "", ...args] = name.split(":");
    const source = this.sources.get(kind);
    if (!source) throw new TopicError("unknown_topic", `unknown topic "${name}"`);
    const resource = asTopicError(() => source.resource?.(args));
    if (!this.policy.can(ctx.caller, source.action, resource)) {
      // What the caller may not see does not exist for it: the same answer as a missing container.
      const refusal =
        resource?.container && !this.policy.can(ctx.caller, "containers:read", resource)
          ? new TopicError("not_found", `no such container in "${name}"`)
          : new TopicError("forbidden", `not allowed to subscribe to "${name}"`);
      source.refused?.(args, ctx, refusal);
      throw refusal;
    }
    const first = await asTopicError(() => source.open(args, { ...ctx, sink }));
    for (const m of first) sink.deliver(encodeFrame(name, m));
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { sinks: new Map() };
      this.topics.set(name, topic);
      topic.sinks.set(sink, ctx.caller);
      topic.deactivate = source.activate?.(args, {
        emit: (m) => this.publish(name, m),
        end: (m) => this.end(name, m),
      });
    } else {
      topic.sinks.set(sink, ctx.caller);
    }
  }

  /**
   * Asks the policy again whether a subscriber may keep its topic (its teams or grants changed since
   * it subscribed). Refused: it is let go, and the answer says why. A topic whose resource is gone
   * is left alone: its source ends it.
   */
  recheck(name: string, sink: Sink, caller: Caller): TopicError | undefined {
    const topic = this.topics.get(name);
    const [kind = "", ...args] = name.split(":");
    const source = this.sources.get(kind);
    if (!topic?.sinks.has(sink) || !source) return undefined;
    let resource: ReturnType<NonNullable<TopicSource["resource"]>> | undefined;
    try {
      resource = source.resource?.(args);
    } catch {
      return undefined;
    }
    if (this.policy.can(caller, source.action, resource)) {
      topic.sinks.set(sink, caller);
      return undefined;
    }
    this.unsubscribe(name, sink);
    return new TopicError("revoked", `your access to "${name}" was withdrawn`);
  }

  unsubscribe(name: string, sink: Sink): void {
    const topic = this.topics.get(name);
    if (!topic?.sinks.delete(sink) || topic.sinks.size > 0) return;
    this.topics.delete(name);
    topic.deactivate?.();
  }

  /** Hands a subscriber's message to its topic's source; throws TopicError when it may not send it. */
  input(name: string, sink: Sink, message: Message): void {
    const [kind = "", ...args] = name.split(":");
    const source = this.sources.get(kind);
    if (!this.topics.get(name)?.sinks.has(sink)) {
      throw new TopicError("not_subscribed", `not subscribed to "${name}"`);
    }
    if (!source?.input) throw new TopicError("unsupported", `"${name}" takes no input`);
    if (message.d instanceof Uint8Array && message.d.byteLength > MAX_INPUT_BYTES) {
      throw new TopicError("too_large", `input is limited to ${MAX_INPUT_BYTES} bytes per message`);
    }
    source.input(args, message);
  }

  publish(name: string, message: Message): void {
    const topic = this.topics.get(name);
    if (!topic || topic.sinks.size === 0) return;
    const frame = encodeFrame(name, message);
    for (const sink of topic.sinks.keys()) sink.deliver(frame);
  }

  /** Delivers to each subscriber the frame `pick` makes for it, if any (what it may see of a change). */
  publishEach(name: string, pick: (sink: Sink, caller: Caller) => Uint8Array | undefined): void {
    const topic = this.topics.get(name);
    if (!topic) return;
    // forEach: `for (const [k, v] of map)` makes an array per subscriber per frame.
    topic.sinks.forEach((caller, sink) => {
      const frame = pick(sink, caller);
      if (frame) sink.deliver(frame);
    });
  }

  /** The topics of one kind with subscribers, e.g. every `containers:<env>`. */
  topicNames(kind: string): string[] {
    return [...this.topics.keys()].filter((t) => t === kind || t.startsWith(`${kind}:`));
  }

  /**
   * Sends each subscriber the frame `pick` makes for it (e.g. a delta for those that had the last
   * frame, a keyframe for the others, nothing when it has nothing for them); `sent` says which
   * subscribers took theirs.
   */
  publishLatest(
    name: string,
    pick: (sink: Sink, caller: Caller) => Uint8Array | undefined,
    sent: (sink: Sink, taken: boolean) => void,
  ): void {
    const topic = this.topics.get(name);
    if (!topic) return;
    topic.sinks.forEach((caller, sink) => {
      const bytes = pick(sink, caller);
      if (bytes) sent(sink, sink.offer(bytes));
    });
  }

  private end(name: string, last: Message): void {
    this.publish(name, last);
    const topic = this.topics.get(name);
    if (!topic) return;
    this.topics.delete(name);
    topic.deactivate?.();
    for (const sink of topic.sinks.keys()) sink.ended(name);
  }

  subscriberCount(name: string): number {
    return this.topics.get(name)?.sinks.size ?? 0;
  }
}

/** The stream's way of saying what REST says with a 404 (src/envs/resolve.ts). */
function asTopicError<T>(run: () => T): T {
  try {
    const result = run();
    if (result instanceof Promise) {
      return result.catch((err) => {
        throw err instanceof NotFound ? new TopicError("not_found", err.message) : err;
      }) as T;
    }
    return result;
  } catch (err) {
    throw err instanceof NotFound ? new TopicError("not_found", err.message) : err;
  }
}
