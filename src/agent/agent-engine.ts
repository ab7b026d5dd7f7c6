import { DockerHttpEngine, type EngineFetch } from "../engine/docker-http.ts";
import type { ExecSession } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";

/** The environment URL of an agent: not an address (the panel never dials it), a name. */
export const AGENT_SCHEME = "agent://";

export function agentIdOf(url: string): string | undefined {
  return url.startsWith(AGENT_SCHEME) ? url.slice(AGENT_SCHEME.length) : undefined;
}

/**
 * An edge agent's engine, as the panel sees it: the same Docker Engine API client as a local
 * engine (version negotiation, capabilities, errors), its requests carried over the agent's QUIC
 * link instead of a socket. `local` is false: its cgroups are not this machine's.
 */
export class AgentEngine extends DockerHttpEngine {
  constructor(
    id: string,
    send: EngineFetch,
    private readonly sendsStats: () => boolean,
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

  override async exec(): Promise<ExecSession> {
    throw new EngineError(501, "a shell through an edge agent is not supported yet");
  }
}
