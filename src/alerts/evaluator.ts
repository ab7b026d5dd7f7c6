import type { ContainerChange } from "../containers/mirror.ts";
import type { ContainerView } from "../containers/view.ts";
import { containerPath } from "../engine/paths.ts";
import type { EnvEvent, Environments } from "../envs/environments.ts";
import type { Alert, AlertRule } from "../protocol/alerts.ts";
import { appOf } from "../protocol/apps.ts";
import type { StatsCollector } from "../stats/collector.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import type { TickFigures } from "../stats/frame-encoder.ts";
import type { WriteHealth } from "../store/write-health.ts";
import type { AlertStore } from "./store.ts";
import type { WebhookSender } from "./webhooks.ts";

/** How often restart loops are looked at again, to resolve those that calmed down. */
const SWEEP_MS = 5_000;

/**
 * Turns what the panel already follows into alerts: each stats tick (cpu, memory), each change
 * the container mirrors announce (died, oom, unhealthy, restart loops) and each engine's status
 * (engine_down). One alert per rule and container while the condition holds; it resolves when the
 * condition ends. Firing and resolving go to the rule's webhooks (unless it is silenced) and to
 * `onChange` listeners (the alerts topic).
 */
export class AlertEvaluator {
  /** `${rule}\u0000${env}\u0000${container name}` → the alert firing for it */
  private open = new Map<string, Alert>();
  /** since when a container has been over a rule's threshold */
  private overSince = new Map<string, number>();
  /** since when a container with a firing alert has been back under the threshold */
  private underSince = new Map<string, number>();
  /** recent starts per `${env}\u0000${container id}` */
  private starts = new Map<string, number[]>();
  private listeners = new Set<(a: Alert) => void>();
  private watching = new Map<string, () => void>();
  private sweep: ReturnType<typeof setInterval>;
  private rules: AlertRule[] = [];
  /** engines with a CPU or memory rule: only their ticks are looked at */
  private ruled = new Set<string>();
  private stopped = false;

  constructor(
    private readonly store: AlertStore,
    private readonly sender: WebhookSender,
    private readonly envs: Environments,
    private readonly collectors: StatsCollectors,
    private readonly health: WriteHealth,
  ) {
    for (const a of store.firing()) this.open.set(keyOf(a.rule_id, a.env, a.container), a);
    this.reload();
    // After the tick's frames: the evaluator is made before the stats topic registers, and no
    // client should wait for rules to be checked.
    // Only engines with a figure rule: a hundred idle edge agents' ticks are otherwise a hundred
    // deferred calls a second that find nothing to check (docs/decisions.md, idle agents).
    collectors.onTick((env, collector, figures) => {
      if (this.ruled.has(env))
        setImmediate(() => this.guard(() => !this.stopped && this.onTick(env, collector, figures)));
    });
    envs.onContainers((env, change) => this.guard(() => this.onContainers(env, change)));
    envs.onEnv((event) => this.guard(() => this.onEnv(event)));
    this.sweep = setInterval(() => this.guard(() => this.sweepLoops()), SWEEP_MS);
    this.sweep.unref();
  }

  onChange(listener: (a: Alert) => void): void {
    this.listeners.add(listener);
  }

  /** Rules changed: read them again, and keep the stats of engines with figure rules running. */
  reload(): void {
    this.rules = this.store.rules().filter((r) => r.enabled);
    const ruled = new Set(
      this.rules.filter((r) => r.kind === "cpu" || r.kind === "memory").map((r) => r.env),
    );
    this.ruled = ruled;
    for (const [env, release] of this.watching) {
      if (!ruled.has(env)) {
        release();
        this.watching.delete(env);
      }
    }
    for (const env of ruled) this.watchStats(env);
    // A rule removed or disabled leaves nothing firing behind it.
    const live = new Set(this.rules.map((r) => r.id));
    for (const [key, alert] of this.open) if (!live.has(alert.rule_id)) this.resolve(key);
    // An engine that went down before its rule was made: no status change would ever say so.
    for (const rule of this.rules) {
      const engine = rule.kind === "engine_down" ? this.envs.get(rule.env) : undefined;
      if (engine?.connection.status === "down") this.engineDown(rule, rule.env, engine.connection.error);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sweep);
    for (const release of this.watching.values()) release();
    this.watching.clear();
  }

  /** A collector runs while somebody wants its figures: a rule on them is somebody. */
  private watchStats(env: string): void {
    if (this.watching.has(env)) return;
    const collector = this.collectors.get(env);
    if (collector) this.watching.set(env, collector.watch());
  }

  private onTick(env: string, _collector: StatsCollector, figures: TickFigures[]): void {
    const rules = this.rules.filter((r) => r.env === env && (r.kind === "cpu" || r.kind === "memory"));
    if (!rules.length) return;
    const engine = this.envs.get(env);
    const now = Date.now();
    const present = new Set<string>();
    for (const f of figures) {
      const container = engine?.containers.find(f.id);
      if (!container) continue;
      for (const rule of rules) {
        if (!matches(rule, container)) continue;
        const key = keyOf(rule.id, env, container.name);
        present.add(key);
        const value =
          rule.kind === "cpu" ? f.cpu_percent : f.mem_limit > 0 ? (f.mem_usage / f.mem_limit) * 100 : 0;
        if (value <= rule.threshold) {
          this.overSince.delete(key);
          // Over only once it has stayed under as long as it had to stay over to fire: a busy
          // machine's dip of a tick does not end an alert and start the next.
          const under = this.underSince.get(key) ?? now;
          this.underSince.set(key, under);
          if (now - under >= rule.for_seconds * 1000) {
            this.underSince.delete(key);
            this.resolve(key);
          }
          continue;
        }
        this.underSince.delete(key);
        const since = this.overSince.get(key) ?? now;
        this.overSince.set(key, since);
        if (now - since >= rule.for_seconds * 1000 && !this.open.has(key)) {
          const what = rule.kind === "cpu" ? "CPU" : "memory";
          this.fire(
            key,
            rule,
            env,
            container,
            `${container.name}: ${what} ${value.toFixed(1)} % over ${rule.threshold} % for ${rule.for_seconds} s`,
          );
        }
      }
    }
    // Stopped or gone: no figures, no longer over anything.
    for (const [key, alert] of this.open) {
      if (alert.env === env && (alert.kind === "cpu" || alert.kind === "memory") && !present.has(key)) {
        this.overSince.delete(key);
        this.underSince.delete(key);
        this.resolve(key);
      }
    }
  }

  private onContainers(env: string, change: ContainerChange): void {
    if (change.kind === "remove") {
      for (const [key, alert] of this.open)
        if (alert.env === env && alert.container === change.container.name) this.resolve(key);
      return;
    }
    if (change.kind !== "upsert") return;
    const { container: c, before } = change;
    const restarted =
      before?.started_at != null && c.started_at !== null && c.started_at !== before.started_at;
    const stopped = before?.state === "running" && ["exited", "dead", "restarting"].includes(c.state);
    const running = c.state === "running";
    if (restarted) this.countStart(env, c);
    for (const rule of this.rules) {
      if (rule.env !== env || !matches(rule, c)) continue;
      const key = keyOf(rule.id, env, c.name);
      switch (rule.kind) {
        case "died":
          // A crash or a kill, not a clean stop (a restart through the panel exits 0): only a
          // container seen stopped tells its exit code.
          if (stopped && c.exit_code !== null && c.exit_code !== 0) {
            this.fire(key, rule, env, c, `${c.name} died (exit code ${c.exit_code})`);
          }
          if (running) this.resolve(key);
          break;
        case "oom":
          if (stopped || restarted) void this.checkOom(key, rule, env, c);
          else if (running) this.resolve(key);
          break;
        case "unhealthy":
          if (c.health === "unhealthy" && c.state === "running")
            this.fire(key, rule, env, c, `${c.name} is unhealthy`);
          else this.resolve(key);
          break;
        case "restart_loop": {
          const n = this.recentStarts(env, c.id, rule.for_seconds);
          if (n >= rule.threshold)
            this.fire(key, rule, env, c, `${c.name} restarted ${n} times within ${rule.for_seconds} s`);
          break;
        }
      }
    }
  }

  /** Whether the engine killed it for want of memory: only its inspect says. */
  private async checkOom(key: string, rule: AlertRule, env: string, c: ContainerView): Promise<void> {
    const engine = this.envs.get(env)?.engine;
    const inspect = await engine
      ?.get<{ State?: { OOMKilled?: boolean } }>(containerPath(c.id, "/json"))
      .catch(() => undefined);
    if (this.stopped || !inspect?.State?.OOMKilled) return;
    this.guard(() => this.fire(key, rule, env, c, `${c.name} was killed for lack of memory (OOM)`));
  }

  private onEnv(event: EnvEvent): void {
    if (event.kind === "status" && event.status === "up") this.watchStats(event.id);
    if (event.kind === "removed") {
      this.watching.get(event.id)?.();
      this.watching.delete(event.id);
    }
    if (event.kind !== "status" && event.kind !== "removed") return;
    for (const rule of this.rules) {
      if (rule.kind !== "engine_down" || rule.env !== event.id) continue;
      if (event.kind === "status" && event.status === "down") this.engineDown(rule, event.id, event.error);
      else if (event.kind === "removed" || event.status === "up") this.resolve(keyOf(rule.id, event.id, ""));
    }
  }

  private engineDown(rule: AlertRule, env: string, error: string | null): void {
    this.fire(
      keyOf(rule.id, env, ""),
      rule,
      env,
      undefined,
      `engine "${env}" is down: ${error ?? "no answer"}`,
    );
  }

  private countStart(env: string, c: ContainerView): void {
    const key = `${env}\u0000${c.id}`;
    const list = this.starts.get(key) ?? [];
    list.push(Date.now());
    // The longest window a rule can ask for bounds what is kept.
    while (list.length > 1000) list.shift();
    this.starts.set(key, list);
  }

  private recentStarts(env: string, id: string, seconds: number): number {
    const since = Date.now() - seconds * 1000;
    return (this.starts.get(`${env}\u0000${id}`) ?? []).filter((t) => t >= since).length;
  }

  /** Restart loops that calmed down resolve; starts older than any rule's window are dropped. */
  private sweepLoops(): void {
    const longest = Math.max(
      0,
      ...this.rules.filter((r) => r.kind === "restart_loop").map((r) => r.for_seconds),
    );
    const since = Date.now() - longest * 1000;
    for (const [key, list] of this.starts) {
      const kept = list.filter((t) => t >= since);
      if (kept.length) this.starts.set(key, kept);
      else this.starts.delete(key);
    }
    for (const [key, alert] of this.open) {
      if (alert.kind !== "restart_loop") continue;
      const rule = this.rules.find((r) => r.id === alert.rule_id);
      const c = this.envs.get(alert.env)?.containers.find(alert.container);
      if (!rule || !c || this.recentStarts(alert.env, c.id, rule.for_seconds) < rule.threshold)
        this.resolve(key);
    }
  }

  private fire(
    key: string,
    rule: AlertRule,
    env: string,
    c: ContainerView | undefined,
    message: string,
  ): void {
    if (this.open.has(key)) return;
    const alert = this.store.fire(rule, env, c?.name ?? "", c?.labels ?? {}, message);
    this.open.set(key, alert);
    this.announce(alert, "firing", rule);
  }

  private resolve(key: string): void {
    const alert = this.open.get(key);
    if (!alert) return;
    this.open.delete(key);
    const resolved = this.store.resolve(alert.id);
    if (resolved) this.announce(resolved, "resolved", this.store.rule(alert.rule_id));
  }

  /** An alert changed otherwise (acknowledged): its watchers hear of it; no webhook does. */
  announceChange(alert: Alert): void {
    for (const l of this.listeners) l(alert);
  }

  private announce(alert: Alert, event: "firing" | "resolved", rule: AlertRule | undefined): void {
    this.announceChange(alert);
    if (!rule || alert.silenced || rule.silenced_until > Date.now()) return;
    for (const id of rule.webhooks) {
      const hook = this.store.webhook(id);
      if (hook) this.sender.send(hook, event, alert);
    }
  }

  /**
   * An alert that cannot be stored (a full disk) is lost, never the panel; nor may anything else
   * thrown here reach the mirror or collector that called (their other listeners come after).
   */
  private guard(run: () => void): void {
    if (this.stopped) return;
    try {
      this.health.tolerate("alerts", run);
    } catch (err) {
      console.error(`ghostpanel: alerts: ${(err as Error)?.stack ?? err}`);
    }
  }
}

function keyOf(rule: number, env: string, container: string): string {
  return `${rule}\u0000${env}\u0000${container}`;
}

/** A rule's target is a container's name or its Vesla app's; none: every container. */
function matches(rule: AlertRule, c: ContainerView): boolean {
  return rule.target === "" || rule.target === c.name || rule.target === appOf(c);
}
