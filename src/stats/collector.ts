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

/** What the collector holds of one running container between ticks. */
interface Held {
  /** Its newest sample: the source's own object, good until the source's next read (sample.ts). */
  sample: RawSample;
  /** The figures of that sample, as the frames carried them. */
  shown: TickFigures;
  /** Whether those figures come from two samples, not one (a CPU % needs two). */
  rated: boolean;
  /** The tick that last carried it. */
  tick: number;
}

/**
 * One collector per engine, however many people watch: each tick reads every running container
 * from one source, works out rates, keeps the newest figures and turns them into one delta frame.
 * The cgroup source is cheap enough to run all the time; the engine's streaming stats cost the
 * engine real CPU, so with that source the collector runs only while someone watches.
 */
export class StatsCollector {
  readonly encoder: StatsFrameEncoder;
  /**
   * One entry a container, changed in place each tick: a tick makes no object per container but
   * the figures it sends (each a new object, since the frames' listeners may keep them).
   */
  private held = new Map<string, Held>();
  private ticks = 0;
  /** The running containers' names, made again only when the engine's list changed. */
  private names = new Map<string, string>();
  private namesOf = -1;
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
      if (running.every((c) => this.held.get(c.id)?.rated)) break;
      await this.nextTick();
    }
    return this.now();
  }

  /** The newest figures of every container the last tick carried, as GET …/stats and /metrics give them. */
  now(): ContainerStatsNow[] {
    const out: ContainerStatsNow[] = [];
    for (const { sample, shown } of this.held.values()) {
      out.push({
        id: shown.id,
        name: shown.name,
        cpu_percent: Math.round(shown.cpu_percent * 100) / 100,
        mem_usage: sample.mem_usage,
        mem_limit: sample.mem_limit,
        net_rx: sample.net_rx,
        net_tx: sample.net_tx,
        blk_read: sample.blk_read,
        blk_write: sample.blk_write,
        pids: sample.pids,
      });
    }
    return out;
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
      const tick = ++this.ticks;
      const names = this.namesNow(running);
      const figures: TickFigures[] = [];
      // Each part goes out as its frame as soon as it is read; the last one closes the tick.
      const frame = (part: Map<string, RawSample>, last: boolean) => {
        const [shown, sampledAt] = this.figuresOf(part, names, tick);
        for (const f of shown) figures.push(f);
        const delta = this.encoder.part(shown, sampledAt, last);
        if (delta) this.listeners.frame(delta, shown);
      };
      const samples = this.source
        ? await this.source.read(running, (part) => {
            if (!this.closed) frame(part, false);
          })
        : new Map<string, RawSample>();
      // Closed during the read (the panel is stopping): the database the figures go to may be closed.
      if (this.closed) return;
      frame(samples, true);
      this.held.forEach((held, id) => {
        if (held.tick !== tick) this.held.delete(id);
      });
      this.listeners.tick(figures, Date.now());
    } finally {
      this.busy = false;
      for (const f of this.ticked.splice(0)) f();
      if (this.watchers === 0 && this.source?.name === "docker") this.pause();
    }
  }

  /** id → name of the running containers, made again only when the engine's list has changed. */
  private namesNow(running: readonly ContainerView[]): Map<string, string> {
    const version = this.env.containers.version;
    if (version !== this.namesOf) {
      this.names = new Map(running.map((c) => [c.id, c.name]));
      this.namesOf = version;
    }
    return this.names;
  }

  /**
   * The figures of some containers' samples (less those an earlier frame of this tick carried), and
   * when the oldest of them was read (for a frame's `t`).
   */
  private figuresOf(
    samples: Map<string, RawSample>,
    names: Map<string, string>,
    tick: number,
  ): [TickFigures[], number] {
    const figures: TickFigures[] = [];
    let sampledAt = Number.POSITIVE_INFINITY;
    // forEach: `for (const [id, cur] of …)` makes an array per entry, per container per tick.
    samples.forEach((cur, id) => {
      const name = names.get(id);
      const held = this.held.get(id);
      if (name === undefined || held?.tick === tick) return;
      // The source has no newer sample (an agent's datagram lost or late, the engine's stats
      // stream slower than the interval): the figures shown stay, rather than a tick of zero rates.
      if (held && held.sample.at === cur.at) {
        held.tick = tick;
        figures.push(held.shown);
        return;
      }
      if (cur.at < sampledAt) sampledAt = cur.at;
      const prev = held?.sample;
      const seconds = prev ? (cur.at - Math.min(prev.at, cur.counters_since ?? prev.at)) / 1000 : 0;
      const shown: TickFigures = {
        id,
        name,
        cpu_percent: prev ? cpuPercent(prev, cur) : 0,
        mem_usage: cur.mem_usage,
        mem_limit: cur.mem_limit,
        net_rx_rate: rate(cur.net_rx, prev?.net_rx, seconds),
        net_tx_rate: rate(cur.net_tx, prev?.net_tx, seconds),
        blk_read_rate: rate(cur.blk_read, prev?.blk_read, seconds),
        blk_write_rate: rate(cur.blk_write, prev?.blk_write, seconds),
        pids: cur.pids,
      };
      if (held) {
        held.sample = cur;
        held.shown = shown;
        held.rated = true;
        held.tick = tick;
      } else this.held.set(id, { sample: cur, shown, rated: false, tick });
      figures.push(shown);
    });
    return [figures, Number.isFinite(sampledAt) ? sampledAt : Date.now()];
  }
}

/** A counter's rate per second over `seconds`; 0 without an earlier reading. */
function rate(cur: number, prev: number | undefined, seconds: number): number {
  return prev !== undefined && seconds > 0 ? Math.max(0, (cur - prev) / seconds) : 0;
}
