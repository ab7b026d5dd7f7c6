import type { Database } from "bun:sqlite";
import type { Environments } from "../envs/environments.ts";
import { HISTORY_FIELDS } from "../protocol/history.ts";
import type { DeltaFrame } from "../protocol/stats-frames.ts";
import { type SourceChooser, StatsCollector } from "./collector.ts";
import type { TickFigures } from "./frame-encoder.ts";
import { StatsHistory } from "./history.ts";
import { type HostFigures, HostReader } from "./host.ts";

/** One frame of a tick (a tick read in parts goes out as several: src/stats/collector.ts). */
export interface StatsFrame {
  /** the frame against the one before, for subscribers who see every container */
  delta: DeltaFrame;
  /** the figures of the containers this frame read, for those who see only some (src/stats/topic.ts) */
  figures: TickFigures[];
}

type FrameListener = (envId: string, collector: StatsCollector, frame: StatsFrame) => void;
/** After a tick's last frame: every running container's figures. */
type TickListener = (envId: string, collector: StatsCollector, figures: TickFigures[]) => void;
type HostListener = (envId: string, host: HostFigures) => void;

interface EnvStats {
  collector: StatsCollector;
  history: StatsHistory;
  host: HostReader | undefined;
  lastHost: HostFigures | undefined;
}

/**
 * Per environment whose engine serves stats: its collector, its history and, when the engine is on
 * this machine, the host's own figures, all driven by the collector's tick.
 */
export class StatsCollectors {
  private envStats = new Map<string, EnvStats>();
  private frameListeners = new Set<FrameListener>();
  private tickListeners = new Set<TickListener>();
  private hostListeners = new Set<HostListener>();
  private closed = false;

  constructor(
    private readonly envs: Environments,
    private readonly db: Database,
    private readonly choose: SourceChooser,
    private readonly intervalMs: number,
    private readonly hostDisks: string[],
  ) {
    envs.onEnv((change) => {
      if (change.kind === "removed") {
        const gone = this.envStats.get(change.id);
        gone?.collector.close();
        gone?.host?.close();
        this.envStats.delete(change.id);
      } else if (change.kind === "status" && change.status === "up") this.get(change.id)?.start();
    });
  }

  /** The environment's collector, or undefined when its engine has no stats. */
  get(envId: string): StatsCollector | undefined {
    return this.ensure(envId)?.collector;
  }

  history(envId: string): StatsHistory | undefined {
    return this.ensure(envId)?.history;
  }

  /** Whether the environment's engine runs on this machine, so host figures are its host's. */
  hasHost(envId: string): boolean {
    return this.ensure(envId)?.host !== undefined;
  }

  /** The newest host figures (none before the first tick, or for an engine elsewhere). */
  lastHost(envId: string): HostFigures | undefined {
    return this.ensure(envId)?.lastHost;
  }

  onFrame(listener: FrameListener): void {
    this.frameListeners.add(listener);
  }

  onTick(listener: TickListener): void {
    this.tickListeners.add(listener);
  }

  /** The host's figures, each tick, for an engine on this machine. */
  onHost(listener: HostListener): void {
    this.hostListeners.add(listener);
  }

  close(): void {
    this.closed = true;
    for (const s of this.envStats.values()) {
      s.collector.close();
      s.host?.close();
    }
  }

  private ensure(envId: string): EnvStats | undefined {
    const existing = this.envStats.get(envId);
    if (existing) return existing;
    // A request or an engine event still in flight while the panel stops must not start a
    // collector that would write to the closed database.
    if (this.closed) return undefined;
    const env = this.envs.get(envId);
    if (!env?.engine.capabilities?.stats) return undefined;
    const history = new StatsHistory(this.db, envId, this.intervalMs);
    const rows = new HistoryRows();
    const host = env.engine.local ? new HostReader(this.hostDisks) : undefined;
    const collector = new StatsCollector(env, this.choose, this.intervalMs, {
      frame: (delta, figures) => {
        for (const l of this.frameListeners) l(envId, collector, { delta, figures });
      },
      // After the tick's frames: the host's figures and the history are bookkeeping no client's
      // container figures should wait for.
      tick: (figures, at) => {
        const hostFigures = host?.read(at);
        stats.lastHost = hostFigures;
        if (hostFigures) for (const l of this.hostListeners) l(envId, hostFigures);
        history.record(at, rows.of(figures, hostFigures));
        for (const l of this.tickListeners) l(envId, collector, figures);
      },
    });
    // A removed container's figures are released at once: with hundreds coming and going, minutes
    // of each would add up.
    env.containers.onChange((change) => {
      if (change.kind === "remove") history.forget(change.id);
    });
    const stats: EnvStats = { collector, history, host, lastHost: undefined };
    this.envStats.set(envId, stats);
    return stats;
  }
}

/**
 * A tick's history rows, in HISTORY_FIELDS order: one array a series, written over each tick
 * rather than made anew for every container every second.
 */
class HistoryRows {
  private readonly rows = new Map<string, Float64Array>();

  of(figures: TickFigures[], host: HostFigures | undefined): ReadonlyMap<string, Float64Array> {
    for (const f of figures) {
      const r = this.row(f.id);
      r[0] = f.cpu_percent;
      r[1] = f.mem_usage;
      r[2] = f.net_rx_rate;
      r[3] = f.net_tx_rate;
      r[4] = f.blk_read_rate;
      r[5] = f.blk_write_rate;
      r[6] = f.pids;
    }
    if (host) {
      const r = this.row("host");
      r[0] = host.cpu_percent;
      r[1] = host.mem_used;
      r[2] = host.net_rx_rate;
      r[3] = host.net_tx_rate;
    }
    // Series no longer in the ticks (stopped, removed, the host unread) leave the rows.
    if (this.rows.size > figures.length + (host ? 1 : 0)) {
      const now = new Set(figures.map((f) => f.id));
      if (host) now.add("host");
      for (const id of this.rows.keys()) if (!now.has(id)) this.rows.delete(id);
    }
    return this.rows;
  }

  private row(id: string): Float64Array {
    let r = this.rows.get(id);
    if (!r) {
      r = new Float64Array(HISTORY_FIELDS.length);
      this.rows.set(id, r);
    }
    return r;
  }
}
