import type { Audience, Caller, Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { envFor } from "../envs/resolve.ts";
import type { DeltaFrame, KeyFrame } from "../protocol/stats-frames.ts";
import { type Sink, type TopicBus, TopicError } from "../stream/bus.ts";
import { encodeFrame } from "../stream/frames.ts";
import type { StatsCollector } from "./collector.ts";
import type { StatsCollectors } from "./collectors.ts";
import { StatsFrameEncoder, type TickFigures } from "./frame-encoder.ts";
import { changedHostFields, type HostFigures } from "./host.ts";
import { visibleFigures } from "./visible.ts";

/**
 * The frames of one audience (subscribers who see the same containers). Those who see everything
 * share the collector's own encoder; the others get one encoder per audience, fed the figures of
 * what they may see.
 */
interface AudienceFrames {
  encoder: { keyframe(): KeyFrame; seq: number; sampledAt: number };
  /** this tick's delta, and its encoded frames once asked for */
  delta?: DeltaFrame;
  deltaFrame?: Uint8Array;
  keyFrame?: Uint8Array;
  /** This frame of the tick changed nothing the audience sees: no delta for it (its seq stays). */
  quiet?: boolean;
  own?: { encoder: StatsFrameEncoder; audience: Audience };
}

/**
 * `stats:<env>`: a keyframe on subscribe, then per frame of a tick a delta (docs/protocol.md). One
 * delta and at most one keyframe are encoded per frame and audience, whatever the number of
 * subscribers: a subscriber that had the previous frame gets the delta, any other (new, or dropped
 * a frame for being slow) the keyframe.
 */
export function registerStatsTopic(
  bus: TopicBus,
  { envs, collectors, policy }: { envs: Environments; collectors: StatsCollectors; policy: Policy },
): void {
  const lastSeq = new WeakMap<Sink, number>();
  const audiences = new Map<string, Map<string, AudienceFrames>>();
  // The last whole tick's figures per engine, and those of the tick under way's frames so far: what
  // an audience made afresh starts from.
  const lastFigures = new Map<string, TickFigures[]>();
  const tickSoFar = new Map<string, TickFigures[]>();

  const visible = (all: TickFigures[], audience: Audience, envId: string): TickFigures[] =>
    visibleFigures(envs.get(envId), audience, all);
  const framesFor = (envId: string, collector: StatsCollector, caller: Caller): AudienceFrames => {
    const audience = policy.audience(caller, envId);
    const byKey = audiences.get(envId) ?? new Map<string, AudienceFrames>();
    audiences.set(envId, byKey);
    let frames = byKey.get(audience.key);
    if (!frames) {
      if (audience.key === "*") frames = { encoder: collector.encoder };
      else {
        const encoder = new StatsFrameEncoder(collector.intervalMs, () => collector.sourceName ?? "none");
        // From the figures there are, so that its first keyframe is not empty until the next tick.
        const at = collector.encoder.sampledAt;
        encoder.tick(visible(lastFigures.get(envId) ?? [], audience, envId), at);
        // Between two frames of a tick: what they carried is this tick's, so that its last frame
        // takes away only the containers no frame of it had.
        const soFar = tickSoFar.get(envId);
        if (soFar?.length) encoder.part(visible(soFar, audience, envId), at, false);
        frames = { encoder, own: { encoder, audience } };
      }
      byKey.set(audience.key, frames);
    }
    return frames;
  };
  const envOf = (envId: string) => envFor(envs, envId);

  bus.register("stats", {
    action: "containers:read",
    resource: ([envId = ""]) => ({ env: envOf(envId).id }),
    open: ([envId = ""], { caller, sink }) => {
      const env = envOf(envId);
      const collector = collectors.get(envId);
      if (!collector) throw new TopicError("unsupported", `engine "${env.name}" serves no stats`);
      const key = framesFor(envId, collector, caller).encoder.keyframe();
      lastSeq.set(sink, key.s);
      return [{ k: "key", d: key }];
    },
    activate: ([envId = ""]) => {
      const release = collectors.get(envId)?.watch() ?? (() => {});
      return () => {
        release();
        audiences.delete(envId);
        lastFigures.delete(envId);
        tickSoFar.delete(envId);
      };
    },
  });
  // Subscribers whose last host frame was taken: they get only what changed; anyone else all of it.
  const hostCurrent = new WeakSet<Sink>();
  const lastHost = new Map<string, HostFigures>();
  bus.register("host", {
    action: "host:read",
    resource: ([envId = ""]) => ({ env: envOf(envId).id }),
    open: ([envId = ""], { sink }) => {
      const env = envOf(envId);
      if (!collectors.hasHost(envId)) {
        throw new TopicError("unsupported", `engine "${env.name}" is not on this machine: no host figures`);
      }
      hostCurrent.delete(sink);
      return [];
    },
    activate: ([envId = ""]) => collectors.get(envId)?.watch() ?? (() => {}),
  });
  // Ownership changed: every subscriber starts again, now rather than at the next tick (up to
  // --stats-interval away), from a keyframe of what it may now see.
  policy.onOwnershipChange(() => {
    audiences.clear();
    for (const topic of bus.topicNames("stats")) {
      const envId = topic.slice("stats:".length);
      const collector = collectors.get(envId);
      if (!collector) continue;
      let offered = 0;
      const pick = (_sink: Sink, caller: Caller): Uint8Array => {
        const frames = framesFor(envId, collector, caller);
        offered = frames.encoder.seq;
        frames.keyFrame ??= encodeFrame(topic, { k: "key", d: frames.encoder.keyframe() });
        return frames.keyFrame;
      };
      bus.publishLatest(topic, pick, (sink, taken) => {
        if (taken) lastSeq.set(sink, offered);
      });
    }
  });

  collectors.onHost((envId, host) => {
    const topic = `host:${envId}`;
    const prev = lastHost.get(envId);
    lastHost.set(envId, host);
    let full: Uint8Array | undefined;
    let changed: Uint8Array | undefined;
    bus.publishLatest(
      topic,
      (sink) => {
        if (prev && hostCurrent.has(sink)) {
          changed ??= encodeFrame(topic, { k: "host", d: changedHostFields(prev, host) });
          return changed;
        }
        full ??= encodeFrame(topic, { k: "host", d: host });
        return full;
      },
      (sink, taken) => {
        if (taken) hostCurrent.add(sink);
        else hostCurrent.delete(sink);
      },
    );
  });
  collectors.onFrame((envId, collector, { delta, figures }) => {
    const topic = `stats:${envId}`;
    const last = delta.m === undefined;
    const soFar = tickSoFar.get(envId) ?? [];
    for (const f of figures) soFar.push(f);
    if (last) {
      lastFigures.set(envId, soFar);
      tickSoFar.delete(envId);
    } else tickSoFar.set(envId, soFar);
    // Audiences made during this frame's sending (after an ownership change) start with a keyframe.
    for (const frames of audiences.get(envId)?.values() ?? []) {
      frames.delta = frames.own
        ? frames.own.encoder.part(visible(figures, frames.own.audience, envId), delta.t, last)
        : delta;
      frames.quiet = !frames.delta;
      frames.deltaFrame = undefined;
      frames.keyFrame = undefined;
    }
    // publishLatest calls `sent` for a subscriber right after `pick`: the seq of what was offered.
    let offered = 0;
    const pick = (sink: Sink, caller: Caller): Uint8Array | undefined => {
      const frames = framesFor(envId, collector, caller);
      // This frame changed nothing this audience sees: nothing to send it (its next frame follows on).
      if (frames.quiet && lastSeq.get(sink) === frames.encoder.seq) return undefined;
      offered = frames.encoder.seq;
      const d = frames.delta;
      // A keyframe only to whoever did not take the frame before (new, or skipped for being slow):
      // never to everyone on a period, which at 1,000 containers would be most of the bytes.
      if (d && lastSeq.get(sink) === d.s - 1) {
        frames.deltaFrame ??= encodeFrame(topic, { k: "delta", d });
        return frames.deltaFrame;
      }
      frames.keyFrame ??= encodeFrame(topic, { k: "key", d: frames.encoder.keyframe() });
      return frames.keyFrame;
    };
    bus.publishLatest(topic, pick, (sink, taken) => {
      if (taken) lastSeq.set(sink, offered);
    });
  });
}
