import type { QuicEndpoint, QuicSession } from "node:quic";
import { DockerHttpEngine } from "../engine/docker-http.ts";
import type { Engine } from "../engine/engine.ts";
import { parseEngineUrl, type TlsMaterial } from "../engine/url.ts";
import type { Environments } from "../envs/environments.ts";
import { WATCH_ALPN } from "../protocol/watch-quic.ts";
import { HELLO_TIMEOUT_MS, onControlStream, withTimeout } from "../stream/control-stream.ts";
import type { TlsFiles } from "../tls/certificate.ts";
import { AGENT_SCHEME, AgentEngine, agentIdOf, type EngineReport } from "./agent-engine.ts";
import { byAlpn } from "./by-alpn.ts";
import { encodeJoinToken } from "./join-token.ts";
import { type LinkSession, type LinkStream, type LinkTransport, quicLink } from "./link.ts";
import { LinkStatsSource, receiveStats } from "./stats-receiver.ts";
import { AgentRefused, type AgentStore } from "./store.ts";
import { tunnelFetch } from "./tunnel.ts";
import { AGENT_ALPN, encodeFrame, FrameReader, proofPayload, TRANSPORT_PARAMS } from "./wire.ts";

/**
 * An agent that says nothing for this long is gone. It pings every 10 s (agents before that every
 * 5 s): the control stream is reliable, so a ping is late, never lost, and 20 s holds two.
 */
const LINK_SILENCE_MS = 20_000;

/** `stats`: the agent sends live stats as datagrams once welcomed. */
type Hello = ({ t: "join"; secret: string; key: string } | { t: "hello"; id: string }) & { stats?: boolean };

/**
 * The panel's end of the edge agents' links: one QUIC listener (our own ALPN) that agents dial out
 * to. An agent proves it holds the key it registered (or, joining, the key it brings with a join
 * token) by signing a fresh challenge; its session then carries the engine calls the panel makes
 * (tunnel.ts). The panel never dials an agent.
 */
export class AgentHub {
  private readonly sessions = new Map<string, LinkSession>();
  /** per agent, across its links: its stats as its environment's collector reads them */
  private readonly stats = new Map<string, LinkStatsSource>();
  private readonly statsAgents = new Set<string>();
  /** per agent: what its last ping said of its engine */
  private readonly engineReports = new Map<string, EngineReport>();
  private endpoint: QuicEndpoint | undefined;
  private envs: Environments | undefined;
  private fingerprint = "";
  /** where agents reach the listener, as a join token carries it */
  address = "";
  /** `ghostpanel watch` clients on this listener (src/stream/quic-watch.ts); none: they are closed */
  onWatch: ((session: QuicSession, address: string) => void) | undefined;

  constructor(
    private readonly store: AgentStore,
    private readonly log: (line: string) => void,
    /** how often agents read their stats: the panel's own --stats-interval */
    private readonly statsIntervalMs = 1000,
  ) {}

  /** Environments' engine factory: agents' URLs get a tunnel, the rest Docker over HTTP. */
  readonly engineFor = (url: string, tls?: TlsMaterial): Engine => {
    const id = agentIdOf(url);
    if (id === undefined) return new DockerHttpEngine(parseEngineUrl(url, tls));
    const linked = () => {
      const session = this.sessions.get(id);
      if (!session) throw new Error(`agent "${id}" is not connected`);
      return session;
    };
    return new AgentEngine(
      id,
      async (u, init) => tunnelFetch(linked(), u, init),
      // node:stream (its Duplex) loads with the first shell through an agent, not with the panel.
      async (u, body) => (await import("./exec-tunnel.ts")).tunnelUpgrade(linked(), u, body),
      () => this.statsAgents.has(id),
      () => this.engineReports.get(id),
    );
  };

  /** An agent environment's stats source; undefined for any other. */
  statsSource(url: string): LinkStatsSource | undefined {
    const id = agentIdOf(url);
    if (id === undefined || !this.statsAgents.has(id)) return undefined;
    let source = this.stats.get(id);
    if (!source) {
      // a few ticks lost in a row are a gap in the figures; more, and the agent is taken to be gone
      source = new LinkStatsSource(3 * this.statsIntervalMs);
      this.stats.set(id, source);
    }
    return source;
  }

  async listen(envs: Environments, host: string, port: number, tls: TlsFiles): Promise<number> {
    this.envs = envs;
    this.fingerprint = tls.fingerprint;
    // Removing an agent's environment revokes its key: it must not come back by reconnecting.
    envs.onEnv((event) => {
      if (event.kind === "removed" && this.store.get(event.id)) this.revoke(event.id);
    });
    const { listen } = await import("node:quic");
    const { createPrivateKey } = await import("node:crypto");
    const endpoint = await listen(
      (session) => {
        session.opened.catch(() => {});
        byAlpn(session, {
          [AGENT_ALPN]: (s) => this.accept(quicLink(s), "QUIC"),
          [WATCH_ALPN]: (s, info) =>
            this.onWatch ? this.onWatch(s, info.remote?.address ?? "") : s.destroy(),
        });
      },
      {
        endpoint: { address: `${host.includes(":") ? `[${host}]` : host}:${port}` },
        alpn: [AGENT_ALPN, WATCH_ALPN],
        sni: { "*": { keys: [createPrivateKey(tls.key)], certs: [Buffer.from(tls.cert)] } },
        // The control stream is quiet between pings and an event stream between events: our own
        // pings find dead links, not QUIC's idle timers.
        streamIdleTimeout: 0,
        // Datagrams carry the stats of `ghostpanel watch` (src/stream/quic-watch.ts).
        transportParams: TRANSPORT_PARAMS,
      } as Parameters<typeof listen>[1],
    );
    this.endpoint = endpoint;
    const bound = (endpoint as unknown as { address?: { port: number } }).address?.port ?? port;
    const shown = ["0.0.0.0", "::", ""].includes(host) ? "" : host;
    this.address = `${shown.includes(":") ? `[${shown}]` : shown}:${bound}`;
    return bound;
  }

  /** A one-time join token for the environment `name`; undefined when agents have no listener. */
  makeJoinToken(name: string, ttlMs: number): { token: string; expiresAt: number } | undefined {
    if (!this.endpoint) return undefined;
    const { secret, expiresAt } = this.store.makeJoinSecret(name, ttlMs);
    return {
      token: encodeJoinToken({ secret, fingerprint: this.fingerprint, address: this.address }),
      expiresAt,
    };
  }

  /** Refuses its key from now on and ends its link. */
  revoke(id: string): void {
    if (this.store.revoke(id)) this.log(`Agent "${id}" revoked.`);
    this.sessions.get(id)?.destroy();
    this.sessions.delete(id);
    this.stats.delete(id);
    this.statsAgents.delete(id);
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
    await this.endpoint?.close().catch(() => {});
  }

  /** Whether agents can join or link here at all (a listener, so a certificate they can pin). */
  get listening(): boolean {
    return this.endpoint !== undefined;
  }

  /** The certificate agents pin: the WebSocket fallback is only for an HTTPS port presenting it. */
  get pinned(): string {
    return this.fingerprint;
  }

  /** A new link from an agent, over either transport: it must say hello and prove its key. */
  accept(session: LinkSession, transport: LinkTransport): void {
    onControlStream(session, (stream) => this.control(session, stream, transport));
  }

  private async control(session: LinkSession, stream: LinkStream, transport: LinkTransport): Promise<void> {
    const reader = new FrameReader(stream);
    const writer = stream.writer;
    const send = (frame: unknown) => writer.write(encodeFrame(frame));
    const hello = await withTimeout(reader.frame<Hello>(), HELLO_TIMEOUT_MS);
    let id = "";
    let key: string;
    let join: { secret: string; name: string } | undefined;
    try {
      if (hello?.t === "join" && typeof hello.secret === "string" && typeof hello.key === "string") {
        const name = this.store.joinName(hello.secret);
        id = name.toLowerCase();
        if (this.envs?.hasName(name)) throw new AgentRefused(`an environment named "${name}" exists already`);
        key = hello.key;
        join = { secret: hello.secret, name };
      } else if (hello?.t === "hello" && typeof hello.id === "string") {
        const row = this.store.get(hello.id);
        if (!row) throw new AgentRefused(`no agent "${hello.id}" is registered here`);
        if (row.revoked_at !== null) throw new AgentRefused(`agent "${hello.id}" has been revoked`);
        id = row.id;
        key = row.public_key;
      } else throw new AgentRefused("expected a join or a hello");
      const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
      await send({ t: "challenge", nonce });
      const proof = await withTimeout(reader.frame<{ t: string; sig?: string }>(), HELLO_TIMEOUT_MS);
      if (
        proof?.t !== "proof" ||
        typeof proof.sig !== "string" ||
        !(await verifies(key, nonce, this.fingerprint, proof.sig))
      )
        throw new AgentRefused("the agent's proof of its key does not verify");
      // Adopted before its environment opens, so that the first engine call finds the link.
      this.adopt(id, session);
      if (hello.stats === true) this.statsAgents.add(id);
      else this.statsAgents.delete(id);
      if (join) {
        const { secret, name } = join;
        this.store.register(secret, id, name, key, () => this.envs?.add(name, `${AGENT_SCHEME}${id}`));
        this.log(`Agent "${id}" joined over ${transport}.`);
      }
    } catch (err) {
      if (this.sessions.get(id) === session) this.sessions.delete(id);
      const reason = err instanceof AgentRefused ? err.message : "the agent's hello could not be read";
      this.log(`Agent link refused: ${reason}`);
      await send({ t: "refused", reason }).catch(() => {});
      await writer.end().catch(() => {});
      setTimeout(() => session.destroy(), 200);
      return;
    }
    this.store.seen(id);
    const stats = this.statsSource(`${AGENT_SCHEME}${id}`);
    if (stats) receiveStats(session, stats);
    await send({ t: "welcome", id, stats: this.statsIntervalMs });
    await this.serveControl(id, session, reader, send);
  }

  private adopt(id: string, session: LinkSession): void {
    const previous = this.sessions.get(id);
    this.sessions.set(id, session);
    if (previous && previous !== session) previous.destroy();
  }

  /** Answers the agent's pings until the link ends or goes quiet. */
  private async serveControl(
    id: string,
    session: LinkSession,
    reader: FrameReader,
    send: (frame: unknown) => Promise<unknown>,
  ): Promise<void> {
    try {
      for (;;) {
        const frame = await withTimeout(
          reader.frame<{ t: string; engine?: unknown; error?: unknown }>(),
          LINK_SILENCE_MS,
        );
        if (!frame) break;
        if (frame.t !== "ping") continue;
        if (typeof frame.engine === "boolean")
          this.engineReports.set(id, {
            ok: frame.engine,
            error: typeof frame.error === "string" ? frame.error.slice(0, 500) : undefined,
            at: Date.now(),
          });
        await send({ t: "pong" });
      }
    } catch {
      // quiet too long, or reset: the link is gone either way
    } finally {
      if (this.sessions.get(id) === session) {
        this.sessions.delete(id);
        this.engineReports.delete(id);
      }
      session.destroy();
    }
  }
}

/** node:crypto (with node:stream under it) loads with the first agent, not with every panel. */
async function verifies(
  publicKeyPem: string,
  nonce: string,
  fingerprint: string,
  sig: string,
): Promise<boolean> {
  const { createPublicKey, verify } = await import("node:crypto");
  try {
    return verify(
      null,
      proofPayload(nonce, fingerprint),
      createPublicKey(publicKeyPem),
      Buffer.from(sig, "base64"),
    );
  } catch {
    return false;
  }
}
