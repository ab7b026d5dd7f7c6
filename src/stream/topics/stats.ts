import type { Environments } from "../../envs/environments.ts";
import type { StatsCollectors } from "../../stats/collectors.ts";
import { type Sink, type TopicBus, TopicError } from "../bus.ts";
import { encodeFrame } from "../frames.ts";

/** Every subscriber also gets a keyframe this often, so a client that went wrong puts itself right. */
const KEYFRAME_EVERY_TICKS = 30;

/**
 * `stats:<env>`: a keyframe on subscribe, then per tick a delta (docs/protocol.md). One delta and at
 * most one keyframe are encoded per tick, whatever the number of subscribers: a subscriber that had
 * the previous frame gets the delta, any other (new, or dropped a frame for being slow) the keyframe.
 */
export function registerStatsTopic(bus: TopicBus, envs: Environments, collectors: StatsCollectors): void {
  const lastSeq = new WeakMap<Sink, number>();
  bus.register("stats", {
    open: ([envId = ""], { sink }) => {
      const env = envs.get(envId);
      if (!env) throw new TopicError("not_found", `no environment "${envId}"`);
      const collector = collectors.get(envId);
      if (!collector) throw new TopicError("unsupported", `engine "${env.name}" serves no stats`);
      const key = collector.encoder.keyframe();
      lastSeq.set(sink, key.s);
      return [{ k: "key", d: key }];
    },
    activate: ([envId = ""]) => collectors.get(envId)?.watch() ?? (() => {}),
  });
  bus.register("host", {
    open: ([envId = ""]) => {
      const env = envs.get(envId);
      if (!env) throw new TopicError("not_found", `no environment "${envId}"`);
      if (!collectors.hasHost(envId)) {
        throw new TopicError("unsupported", `engine "${env.name}" is not on this machine: no host figures`);
      }
      return [];
    },
    activate: ([envId = ""]) => collectors.get(envId)?.watch() ?? (() => {}),
  });
  collectors.onTick((envId, collector, { delta, host }) => {
    if (host) bus.publish(`host:${envId}`, { k: "host", d: host });
    const topic = `stats:${envId}`;
    const everyone = delta.s % KEYFRAME_EVERY_TICKS === 0;
    let deltaFrame: Uint8Array | undefined;
    let keyFrame: Uint8Array | undefined;
    const pick = (sink: Sink): Uint8Array => {
      if (!everyone && lastSeq.get(sink) === delta.s - 1) {
        deltaFrame ??= encodeFrame(topic, { k: "delta", d: delta });
        return deltaFrame;
      }
      keyFrame ??= encodeFrame(topic, { k: "key", d: collector.encoder.keyframe() });
      return keyFrame;
    };
    bus.publishLatest(topic, pick, (sink, taken) => {
      if (taken) lastSeq.set(sink, delta.s);
    });
  });
}
