import type { CgroupSourceOptions } from "./cgroup-source.ts";
import type { RawSample, StatsTarget } from "./sample.ts";

/** Between the panel and its cgroup reader's thread (src/stats/cgroup-worker.ts). */
export interface ReadRequest {
  seq: number;
  targets: StatsTarget[];
  options: CgroupSourceOptions;
}

export interface ReadReply {
  seq: number;
  /** FIELDS.length numbers per target, in the request's order; NaN `at` for a target not read. */
  values: Float64Array;
}

const FIELDS = [
  "at",
  "cpu_ns",
  "system_ns",
  "online_cpus",
  "mem_usage",
  "mem_limit",
  "pids",
  "blk_read",
  "blk_write",
  "net_rx",
  "net_tx",
] as const satisfies readonly (keyof RawSample)[];

export function packSamples(targets: StatsTarget[], samples: Map<string, RawSample>): Float64Array {
  const out = new Float64Array(targets.length * FIELDS.length).fill(Number.NaN);
  targets.forEach((t, i) => {
    const s = samples.get(t.id);
    if (!s) return;
    FIELDS.forEach((f, k) => {
      out[i * FIELDS.length + k] = s[f];
    });
  });
  return out;
}

export function unpackSamples(targets: StatsTarget[], values: Float64Array): Map<string, RawSample> {
  const out = new Map<string, RawSample>();
  targets.forEach((t, i) => {
    const base = i * FIELDS.length;
    if (Number.isNaN(values[base])) return;
    const s = {} as Record<(typeof FIELDS)[number], number>;
    FIELDS.forEach((f, k) => {
      s[f] = values[base + k]!;
    });
    out.set(t.id, s);
  });
  return out;
}
