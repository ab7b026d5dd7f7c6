import type { Duplex } from "node:stream";
import { DockerHttpEngine, type EngineFetch } from "../engine/docker-http.ts";
import type { ExecSession, ExecSpec } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";

/** The environment URL of an agent: not an address (the panel never dials it), a name. */
export const AGENT_SCHEME = "agent://";

export function agentIdOf(url: string): string | undefined {
  return url.startsWith(AGENT_SCHEME) ? url.slice(AGENT_SCHEME.length) : undefined;
}

/** What an agent's last ping said of its engine (src/agent/run.ts reads it there before each ping). */
export interface EngineReport {
  ok: boolean;
  error?: string;
  /** when the panel got it */
  at: number;
}

/** Agents ping every 10 s, after up to 5 s of asking their engine: a report older than this is stale. */
export const REPORT_FRESH_MS = 25_000;

/** An upgraded call through the agent (exec-tunnel.ts): the hijacked connection a shell runs on. */
export type EngineUpgrade = (url: string, body?: string) => Promise<Duplex>;

/**
 * An edge agent's engine, as the panel sees it: the same Docker Engine API client as a local
 * engine (version negotiation, capabilities, errors), its requests carried over the agent's QUIC
 * link instead of a socket. `local` is false: its cgroups are not this machine's.
 */
export class AgentEngine extends DockerHttpEngine {
  constructor(
    id: string,
    send: EngineFetch,
    private readonly upgrade: EngineUpgrade,
    private readonly sendsStats: () => boolean,
    private readonly reported: () => EngineReport | undefined = () => undefined,
  ) {
    // The host is never dialled: the tunnel reads only the path of each request's URL.
    super({ url: `${AGENT_SCHEME}${id}`, host: "agent", port: 80, protocol: "http" }, send);
  }

  /**
   * Stats only from an agent that sends them as datagrams (src/agent/stats-sender.ts), never as
   * Docker's stats stream of every running container through the link: one QUIC stream each, and
   * a few hundred busy streams end Bun 1.4.4's link (every stream of it ends at once).
   */
  override async connect(): Promise<void> {
    await super.connect();
    if (this.capabilities) this.capabilities = { ...this.capabilities, stats: this.sendsStats() };
  }

  /**
   * The connection's heartbeat: an agent that says in each ping how its engine answered it spares
   * the link a call every 10 s (at a hundred idle agents, most of what they cost the panel:
   * docs/decisions.md); an older agent, or a report gone stale, gets the call through the link.
   */
  override async ping(signal?: AbortSignal): Promise<void> {
    const report = this.reported();
    if (!report || Date.now() - report.at > REPORT_FRESH_MS) return super.ping(signal);
    if (!report.ok) throw new EngineError(502, `the agent's engine: ${report.error ?? "no answer"}`);
  }

  /**
   * The engine API's own steps, which dockerode takes for a local engine: create the exec, start
   * it on a hijacked connection (or detached), resize and inspect it by its id, each a tunnelled call.
   */
  override async exec(container: string, spec: ExecSpec): Promise<ExecSession> {
    const { interactive: i } = spec;
    const created = await this.send<{ Id: string }>("POST", containerPath(container, "/exec"), {
      body: {
        Cmd: spec.Cmd,
        Env: spec.Env,
        User: spec.User,
        AttachStdin: i,
        AttachStdout: i,
        AttachStderr: i,
        Tty: i,
      },
    });
    const exec = `/exec/${encodeURIComponent(created!.Id)}`;
    let stream: Duplex | undefined;
    // Tty on start too: the engine multiplexes the output (8-byte frame headers) unless told.
    if (i)
      stream = await this.upgrade(this.url(`${exec}/start`), JSON.stringify({ Detach: false, Tty: true }));
    else await this.send("POST", `${exec}/start`, { body: { Detach: true } });
    return {
      stream,
      resize: async (cols, rows) => {
        await this.send("POST", `${exec}/resize?h=${rows}&w=${cols}`);
      },
      exitCode: () =>
        this.get<{ ExitCode: number | null }>(`${exec}/json`).then(
          (e) => e.ExitCode,
          () => null,
        ),
    };
  }

  /** Docker's attach on a hijacked connection through the agent, as a local engine's attach. */
  override async attach(container: string): Promise<ExecSession> {
    const info = await this.get<{ Config: { Tty?: boolean } }>(containerPath(container, "/json"));
    const raw = await this.upgrade(
      this.url(containerPath(container, "/attach?stream=1&stdin=1&stdout=1&stderr=1")),
    );
    return {
      // Without a TTY the engine frames stdout and stderr: the terminal gets them merged.
      stream: info.Config.Tty ? raw : (await import("../engine/demux.ts")).mergedOutput(raw),
      resize: async (cols, rows) => {
        await this.send("POST", containerPath(container, `/resize?h=${rows}&w=${cols}`));
      },
      // Detaching leaves the container running: its exit code is known only once it has stopped.
      exitCode: () =>
        this.get<{ State: { Running: boolean; ExitCode: number } }>(containerPath(container, "/json")).then(
          (c) => (c.State.Running ? null : c.State.ExitCode),
          () => null,
        ),
    };
  }
}
