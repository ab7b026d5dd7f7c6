import type { DeltaFrame } from "../../web/lib/stats-frames.ts";
import type { Environments } from "../envs/environments.ts";
import { type SourceChooser, StatsCollector } from "./collector.ts";

type TickListener = (envId: string, collector: StatsCollector, delta: DeltaFrame) => void;

/** The collectors of every environment whose engine serves stats, made when it first comes up. */
export class StatsCollectors {
  private collectors = new Map<string, StatsCollector>();
  private listeners = new Set<TickListener>();

  constructor(
    private readonly envs: Environments,
    private readonly choose: SourceChooser,
    private readonly intervalMs: number,
  ) {
    envs.onChange((id, change) => {
      if (change.kind !== "status") return;
      if (!envs.get(id)) {
        // The environment was removed.
        this.collectors.get(id)?.close();
        this.collectors.delete(id);
      } else if (change.status === "up") this.get(id)?.start();
    });
  }

  /** The environment's collector, or undefined when its engine has no stats. */
  get(envId: string): StatsCollector | undefined {
    const existing = this.collectors.get(envId);
    if (existing) return existing;
    const env = this.envs.get(envId);
    if (!env?.engine.capabilities?.stats) return undefined;
    const collector = new StatsCollector(env, this.choose, this.intervalMs, (delta) => {
      for (const l of this.listeners) l(envId, collector, delta);
    });
    this.collectors.set(envId, collector);
    return collector;
  }

  onTick(listener: TickListener): void {
    this.listeners.add(listener);
  }

  close(): void {
    for (const c of this.collectors.values()) c.close();
  }
}
