import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_DATAGRAM } from "../../src/agent/link.ts";
import {
  decodeResync,
  encodeResync,
  KEY_EVERY,
  StatsDatagramDecoder,
  StatsDatagramEncoder,
} from "../../src/agent/stats-datagram.ts";
import { LinkStatsSource } from "../../src/agent/stats-receiver.ts";
import type { RawSample } from "../../src/stats/sample.ts";

const ids = (n: number) => Array.from({ length: n }, () => randomBytes(32).toString("hex"));

/** Counters as a busy host's containers have them: large cumulative numbers that grow each tick. */
function samples(list: string[], tick: number): Map<string, RawSample> {
  return new Map(
    list.map((id, i) => [
      id,
      {
        at: 1_790_000_000_000 + tick * 1000 + i,
        cpu_ns: 4_000_000_000_000 + tick * (i % 7) * 90_000_000,
        system_ns: 900_000_000_000_000 + tick * 2_000_000_000,
        online_cpus: 2,
        mem_usage: 50_000_000 + (i % 3) * tick * 4096,
        mem_limit: 8_000_000_000,
        pids: 3 + (i % 4),
        blk_read: 10_000_000 + tick * (i % 2) * 512,
        blk_write: 20_000_000,
        net_rx: 3_000_000_000 + tick * 1_500,
        net_tx: 1_000_000_000 + tick * 700,
      },
    ]),
  );
}

const asMap = (decoded: [string, RawSample][]) => new Map(decoded);

describe("agent stats datagrams", () => {
  it("splits a tick of 300 containers into datagrams under the limit that carry every sample exactly", () => {
    const list = ids(300);
    const enc = new StatsDatagramEncoder();
    const dec = new StatsDatagramDecoder();
    for (let tick = 1; tick <= KEY_EVERY + 2; tick++) {
      const sent = samples(list, tick);
      const got = new Map<string, RawSample>();
      for (const d of enc.encode(sent, "cgroup")) {
        expect(d.length).toBeLessThanOrEqual(MAX_DATAGRAM);
        const decoded = dec.decode(d);
        expect(decoded?.missing).toEqual([]);
        for (const [id, s] of decoded!.samples) got.set(id, s);
      }
      expect(got).toEqual(sent);
    }
  });

  it("a lost datagram loses only the samples in it; deltas after a lost keyframe are refused, then a resync mends them", () => {
    const list = ids(200);
    const enc = new StatsDatagramEncoder();
    const dec = new StatsDatagramDecoder();
    // tick 1: every container's keyframe; the second datagram is lost
    const first = enc.encode(samples(list, 1), "docker");
    expect(first.length).toBeGreaterThan(2);
    const inLost = new Set<string>();
    const probe = new StatsDatagramDecoder();
    for (const [id] of probe.decode(first[1]!)!.samples) inLost.add(id);
    const got1 = new Map<string, RawSample>();
    first.forEach((d, i) => {
      if (i === 1) return;
      const decoded = dec.decode(d)!;
      expect(decoded.source).toBe("docker");
      for (const [id, s] of decoded.samples) got1.set(id, s);
    });
    expect(got1.size).toBe(list.length - inLost.size);
    for (const id of list) if (!inLost.has(id)) expect(got1.get(id)).toEqual(samples(list, 1).get(id));

    // tick 2: deltas; those of the lost keyframes cannot be applied and are asked for again
    const got2 = new Map<string, RawSample>();
    const missing: number[] = [];
    for (const d of enc.encode(samples(list, 2), "docker")) {
      const decoded = dec.decode(d)!;
      for (const [id, s] of decoded.samples) got2.set(id, s);
      missing.push(...decoded.missing);
    }
    // every sample read is the one sent; all but those of the lost keyframes are read (of those,
    // only the few whose periodic keyframe falls on this tick)
    const sent2 = samples(list, 2);
    for (const [id, s] of got2) expect(s).toEqual(sent2.get(id));
    for (const id of list) if (!inLost.has(id)) expect(got2.has(id)).toBe(true);
    expect(got2.size).toBeLessThan(list.length);
    expect(missing.length).toBe(list.length - got2.size);
    // the request crosses as a datagram of its own
    enc.resync(decodeResync(encodeResync(missing))!);

    // tick 3: every container again
    const got3 = new Map<string, RawSample>();
    for (const d of enc.encode(samples(list, 3), "docker")) {
      for (const [id, s] of dec.decode(d)!.samples) got3.set(id, s);
    }
    expect(got3).toEqual(samples(list, 3));
  });

  it("never applies a delta to a slot's next container, nor a late keyframe over a newer one", () => {
    const [a, b] = ids(2) as [string, string];
    const enc = new StatsDatagramEncoder();
    const dec = new StatsDatagramDecoder();
    const firstKey = enc.encode(samples([a], 1), "cgroup");
    for (const d of firstKey) dec.decode(d);
    const deltaOfA = enc.encode(samples([a], 2), "cgroup");
    // a stops, b takes its slot with a keyframe of its own
    for (const d of enc.encode(new Map([[b, samples([b], 3).get(b)!]]), "cgroup")) dec.decode(d);
    // a's delta arrives late: refused, not read as b's
    expect(deltaOfA.flatMap((d) => dec.decode(d)!.samples)).toEqual([]);
    // a's old keyframe arrives late too: b's slot is kept
    expect(firstKey.flatMap((d) => dec.decode(d)!.samples)).toEqual([]);
    const next = enc.encode(new Map([[b, samples([b], 4).get(b)!]]), "cgroup");
    expect(asMap(next.flatMap((d) => dec.decode(d)!.samples)).get(b)).toEqual(samples([b], 4).get(b));
  });

  it("reads garbage as nothing, without throwing", () => {
    const dec = new StatsDatagramDecoder();
    for (const bad of [
      new Uint8Array(0),
      randomBytes(900),
      new TextEncoder().encode("not msgpack at all"),
      encodeResync([1, 2]),
    ])
      expect(dec.decode(bad)).toBeUndefined();
    expect(decodeResync(randomBytes(50))).toBeUndefined();
  });

  it("measured: bytes per container-sample, keyframe and delta", () => {
    const list = ids(300);
    const enc = new StatsDatagramEncoder();
    const bytes = (tick: number) =>
      enc.encode(samples(list, tick), "cgroup").reduce((n, d) => n + d.length, 0);
    const key = bytes(1) / list.length;
    let steady = 0;
    for (let tick = 2; tick <= KEY_EVERY + 1; tick++) steady += bytes(tick);
    const perSample = steady / (KEY_EVERY * list.length);
    console.log(
      `stats datagrams: ${key.toFixed(1)} B/container keyframe, ${perSample.toFixed(1)} B/container-sample steady`,
    );
    // docs/decisions.md #12 records these; a steady tick is mostly deltas, a tenth keyframes
    expect(perSample).toBeLessThan(key);
  });
});

describe("an agent's stats as a source", () => {
  it("gives the newest sample of each target, never an older one arriving late, nothing once stale", async () => {
    const source = new LinkStatsSource(50);
    const [a] = ids(1) as [string];
    const s1 = samples([a], 1).get(a)!;
    const s2 = samples([a], 2).get(a)!;
    source.put("cgroup", a, s2, Date.now());
    source.put("cgroup", a, s1, Date.now());
    expect((await source.read([{ id: a, pid: 0 }])).get(a)).toEqual(s2);
    await Bun.sleep(80);
    expect((await source.read([{ id: a, pid: 0 }])).size).toBe(0);
  });
});
