import type { ContainerView } from "../containers/view.ts";
import type { Environment } from "../envs/environments.ts";
import type { DeltaFrame } from "../protocol/stats-frames.ts";
import { StatsFrameEncoder, type TickFigures } from "./frame-encoder.ts";
import { cpuPercent, type RawSample, type StatsSource } from "./sample.ts";

/** The newest figures of one running container, as GET …/stats and /metrics give them. */
export interface ContainerStatsNow {
  id: string;
  name: string;
  cpu_percent: number;
  mem_usage: number;
  mem_limit: number;
  /** Cumulative bytes, as the engine reports them. */
  net_rx: number;
  net_tx: number;
  blk_read: number;
  blk_write: number;
  pids: number;
}

/** What a collector's ticks go to. */
export interface CollectorListeners {
  /** Each frame, as soon as its part of the tick is read: the delta and the figures it carries. */
  frame(delta: DeltaFrame, figures: TickFigures[]): void;
  /** Once per tick, after its last frame: every container's figures, and when the tick ended. */
  tick(figures: TickFigures[], at: number): void;
}

export type SourceChooser = (env: Environment, probe: ContainerView) => StatsSource;

/**
 * One collector per engine, however many people watch: each tick reads every running container
 * from one source, works out rates, keeps the newest figures and turns them into one delta frame.
 * The cgroup source is cheap enough to run all the time; the engine's streaming stats cost the
 * engine real CPU, so with that source the collector runs only while someone watches.
 */
export class StatsCollector {
  readonly latest = new Map<string, ContainerStatsNow>();
  readonly encoder: StatsFrameEncoder;
  private prev = new Map<string, RawSample>();
  /** Containers whose newest figures come from two samples, not one. */
  private rated = new Set<string>();
  /** Each container's figures of the last tick, for a tick whose source has nothing newer. */
  private shown = new Map<string, TickFigures>();
  private source: StatsSource | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private closed = false;
  private watchers = 0;
  private ticked: (() => void)[] = [];
  private failedAt = 0;

  constructor(
    private readonly env: Environment,
    private readonly choose: SourceChooser,
    readonly intervalMs: number,
    private readonly listeners: CollectorListeners,
  ) {
    this.encoder = new StatsFrameEncoder(intervalMs, () => this.sourceName ?? "none");
  }

  get sourceName(): "cgroup" | "docker" | undefined {
    return this.source?.name;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /**
   * The newest figures, once every running container has two samples behind it (a CPU % needs
   * two); waits at most `timeoutMs` for that, running the collector meanwhile.
   */
  async current(timeoutMs: number, lingerMs: number): Promise<ContainerStatsNow[]> {
    const release = this.watch();
    setTimeout(release, lingerMs);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.closed) {
      const running = this.env.containers.running();
      if (running.every((c) => this.rated.has(c.id))) break;
      await this.nextTick();
    }
    return [...this.latest.values()];
  }

  start(): void {
    // A watcher arriving while the panel stops does not start it again.
    if (this.closed) return;
    this.timer ??= setInterval(() => this.tick().catch((err) => this.tickFailed(err)), this.intervalMs);
  }

  /** Stops ticking; the source keeps what it holds open until its own linger runs out. */
  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.source?.close();
    this.source = undefined;
    // No tick comes any more: whoever waits for one (current()) gets what there is.
    for (const f of this.ticked.splice(0)) f();
  }

  /** Someone wants figures: the collector runs at least while anyone does. */
  watch(): () => void {
    this.watchers++;
    this.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
    };
  }

  /** A tick that throws must not end the panel; once a minute at most, it says so. */
  private tickFailed(err: unknown): void {
    if (Date.now() - this.failedAt < 60_000) return;
    this.failedAt = Date.now();
    console.error(
      `ghostpanel: stats tick for engine "${this.env.id}" failed: ${(err as Error)?.message ?? err}`,
    );
  }

  private nextTick(): Promise<void> {
    return new Promise((resolve) => this.ticked.push(resolve));
  }

  async tick(): Promise<void> {
    // A read slower than the interval skips a tick rather than piling reads up.
    if (this.busy) return;
    this.busy = true;
    try {
      const running = this.env.containers.running();
      if (!this.source && running.length) this.source = this.choose(this.env, running[0]!);
      const named = new Map(running.map((c) => [c.id, c.name]));
      const figures: TickFigures[] = [];
      const handed = new Set<string>();
      // Each part goes out as its frame as soon as it is read; the last one closes the tick.
      const frame = (part: Map<string, RawSample>, last: boolean) => {
        const [shown, sampledAt] = this.figuresOf(part, named, last ? handed : undefined);
        for (const f of shown) figures.push(f);
        const delta = this.encoder.part(shown, sampledAt, last);
        if (delta) this.listeners.frame(delta, shown);
      };
      const samples = this.source
        ? await this.source.read(
            running.map((c) => ({ id: c.id, pid: c.pid })),
            (part) => {
              if (this.closed) return;
              for (const id of part.keys()) handed.add(id);
              frame(part, false);
            },
          )
        : new Map<string, RawSample>();
      // Closed during the read (the panel is stopping): the database the figures go to may be closed.
      if (this.closed) return;
      frame(samples, true);
      const now = new Set(figures.map((f) => f.id));
      for (const id of this.latest.keys()) if (!now.has(id)) this.latest.delete(id);
      for (const id of this.prev.keys()) if (!now.has(id)) this.prev.delete(id);
      for (const id of this.rated) if (!now.has(id)) this.rated.delete(id);
      for (const id of this.shown.keys()) if (!now.has(id)) this.shown.delete(id);
      this.listeners.tick(figures, Date.now());
    } finally {
      this.busy = false;
      for (const f of this.ticked.splice(0)) f();
      if (this.watchers === 0 && this.source?.name === "docker") this.pause();
    }
  }

  /**
   * The figures of some containers' samples (less those in `skip`: already in a frame of this tick),
   * and when the oldest of them was read (for a frame's `t`).
   */
  private figuresOf(
    samples: Map<string, RawSample>,
    named: Map<string, string>,
    skip?: Set<string>,
  ): [TickFigures[], number] {
    const figures: TickFigures[] = [];
    let sampledAt = Number.POSITIVE_INFINITY;
    for (const [id, cur] of samples) {
      const name = named.get(id);
      if (name === undefined || skip?.has(id)) continue;
      const prev = this.prev.get(id);
      // The source has no newer sample (an agent's datagram lost or late, the engine's stats
      // stream slower than the interval): the figures shown stay, rather than a tick of zero rates.
      const same = prev?.at === cur.at && this.shown.get(id);
      if (same) {
        figures.push(same);
        continue;
      }
      this.prev.set(id, cur);
      if (cur.at < sampledAt) sampledAt = cur.at;
      const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
      const rate = (a: number, b: number) => (prev && seconds > 0 ? Math.max(0, (a - b) / seconds) : 0);
      const cpu = prev ? cpuPercent(prev, cur) : 0;
      if (prev) this.rated.add(id);
      this.latest.set(id, {
        id,
        name,
        cpu_percent: Math.round(cpu * 100) / 100,
        mem_usage: cur.mem_usage,
        mem_limit: cur.mem_limit,
        net_rx: cur.net_rx,
        net_tx: cur.net_tx,
        blk_read: cur.blk_read,
        blk_write: cur.blk_write,
        pids: cur.pids,
      });
      const shown: TickFigures = {
        id,
        name,
        cpu_percent: cpu,
        mem_usage: cur.mem_usage,
        mem_limit: cur.mem_limit,
        net_rx_rate: rate(cur.net_rx, prev?.net_rx ?? 0),
        net_tx_rate: rate(cur.net_tx, prev?.net_tx ?? 0),
        blk_read_rate: rate(cur.blk_read, prev?.blk_read ?? 0),
        blk_write_rate: rate(cur.blk_write, prev?.blk_write ?? 0),
        pids: cur.pids,
      };
      this.shown.set(id, shown);
      figures.push(shown);
    }
    return [figures, Number.isFinite(sampledAt) ? sampledAt : Date.now()];
  }
}
