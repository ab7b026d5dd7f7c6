import { DockerHttpEngine } from "../engine/docker-http.ts";
import { containerPath } from "../engine/paths.ts";
import type { EngineTarget } from "../engine/url.ts";
import { CgroupSource } from "../stats/cgroup-source.ts";
import { DockerStatsSource } from "../stats/docker-source.ts";
import type { StatsSource, StatsTarget } from "../stats/sample.ts";
import type { LinkSession } from "./link.ts";
import { decodeResync, StatsDatagramEncoder } from "./stats-datagram.ts";

/**
 * The engine's list of running containers is read again every this many ticks (a new container's
 * figures start that much later); between lists, a container the source could not read is taken
 * to have stopped or restarted (a new pid) and is looked at again on the next list.
 */
const LIST_EVERY = 5;
/** Inspects at once when many containers are new (a first list of hundreds). */
const INSPECT_BATCH = 16;

/**
 * The agent's end of live stats: every `intervalMs`, its running containers read from the same
 * sources as the panel reads an engine on its own machine (the cgroup files when this process can
 * see them, else the engine's stats API, which here is a local call, not the link), sent to the
 * panel as datagrams (stats-datagram.ts), which also carry the panel's requests for keyframes.
 * Returns what stops it.
 */
export function sendStats(session: LinkSession, target: EngineTarget, intervalMs: number): () => void {
  const engine = new DockerHttpEngine(target);
  const encoder = new StatsDatagramEncoder();
  const running = new Map<string, number>();
  let connected = false;
  let source: StatsSource | undefined;
  let ticks = 0;
  let busy = false;
  let stopped = false;
  session.ondatagram = (data) => {
    const slots = decodeResync(data);
    if (slots) encoder.resync(slots);
  };

  const list = async () => {
    if (!connected) {
      await engine.connect();
      connected = true;
    }
    const now = await engine.get<{ Id: string }[]>("/containers/json");
    const ids = new Set(now.map((c) => c.Id));
    for (const id of running.keys()) if (!ids.has(id)) running.delete(id);
    const fresh = [...ids].filter((id) => !running.has(id));
    for (let i = 0; i < fresh.length && !stopped; i += INSPECT_BATCH) {
      await Promise.all(
        fresh.slice(i, i + INSPECT_BATCH).map(async (id) => {
          const c = await engine
            .get<{ State?: { Pid?: number } }>(containerPath(id, "/json"))
            .catch(() => {});
          const pid = c?.State?.Pid ?? 0;
          if (pid > 0) running.set(id, pid);
        }),
      );
    }
  };

  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (ticks++ % LIST_EVERY === 0) await list();
      const targets: StatsTarget[] = [...running].map(([id, pid]) => ({ id, pid }));
      // as the panel chooses for an engine of its own (src/stats/choose-source.ts): the cgroup files
      // only of an engine on this machine whose containers this process can see there
      if (!source && targets.length)
        source =
          target.socketPath !== undefined && CgroupSource.available({ probe: targets[0] })
            ? new CgroupSource({ everyTick: true })
            : new DockerStatsSource(engine);
      if (!source || stopped) return;
      const samples = await source.read(targets);
      if (stopped) return;
      // (the engine's stats API gives nothing until a container's stream has its first line)
      if (source.name === "cgroup") for (const t of targets) if (!samples.has(t.id)) running.delete(t.id);
      for (const datagram of encoder.encode(samples, source.name)) session.sendDatagram(datagram);
    } catch {
      // the engine is down or restarting: no figures this tick, the link carries on
      connected = false;
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void tick(), intervalMs);
  void tick();
  return () => {
    stopped = true;
    clearInterval(timer);
    source?.close();
    session.ondatagram = undefined;
  };
}
