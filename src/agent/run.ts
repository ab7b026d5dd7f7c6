import { resolve } from "node:path";
import type { QuicSession } from "node:quic";
import { DockerHttpEngine } from "../engine/docker-http.ts";
import { type EngineTarget, parseEngineUrl } from "../engine/url.ts";
import { AgentIdentity, type Joined } from "./identity.ts";
import { decodeJoinToken, type JoinToken } from "./join-token.ts";
import { type LinkSession, type LinkTransport, quicLink } from "./link.ts";
import { serveCall } from "./local-engine.ts";
import { sendStats } from "./stats-sender.ts";
import { AGENT_ALPN, encodeFrame, FrameReader, TRANSPORT_PARAMS } from "./wire.ts";
import { dialWebSocket, PinMismatch } from "./ws-dial.ts";

export const AGENT_USAGE = `Usage: ghostpanel agent --panel URL [--join TOKEN] [--engine URL] [--data DIR] [--quic-retry SECONDS]
  --panel URL     the panel, e.g. https://panel.example:9443 (its host is dialled over QUIC, UDP;
                  when UDP is blocked, a WebSocket to this HTTPS URL carries the same link)
  --join TOKEN    a join token made in the panel (once; afterwards the agent's own key is used)
  --engine URL    the engine here: unix:///var/run/docker.sock (default; env DOCKER_HOST) or tcp://host:2375
  --data DIR      where the agent keeps its key and what it joined (default ./ghostpanel-agent)
  --quic-retry S  on the WebSocket fallback, how often to try QUIC again (default 60)
The agent dials out and listens on nothing; the panel never reaches this machine's network.`;

export class AgentConfigError extends Error {}

/** Why the link cannot come back by retrying: said once, and the agent ends. */
class Final extends Error {}

interface AgentConfig {
  panel: URL;
  join: JoinToken | undefined;
  engine: EngineTarget;
  dataDir: string;
  quicRetryMs: number;
}

const FLAGS = new Set(["--panel", "--join", "--engine", "--data", "--quic-retry"]);
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/**
 * A ping costs the panel a packet each way and their acknowledgements, per agent: at a hundred idle
 * agents every 5 s that was a measurable share of its CPU (docs/decisions.md, idle agents). The
 * control stream is reliable, so a ping is late, never lost: a silence of 20 s, as before, is two
 * pings missed where it was four.
 */
const PING_MS = 10_000;
/** How long the engine here may take to answer before a ping says it did not. */
const ENGINE_PING_TIMEOUT_MS = 5_000;
const SILENCE_MS = 20_000;
const OPEN_TIMEOUT_MS = 10_000;
/** A QUIC handshake is one or two round trips: with none in this long, UDP is taken to be blocked. */
const QUIC_OPEN_MS = 3_000;

export function parseAgentArgs(argv: string[], env: Record<string, string | undefined>): AgentConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!FLAGS.has(name)) throw new AgentConfigError(`unknown option ${arg}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (!value) throw new AgentConfigError(`${name} needs a value`);
    flags.set(name, value);
  }
  const panelArg = flags.get("--panel") ?? env.GHOSTPANEL_PANEL;
  if (!panelArg) throw new AgentConfigError("--panel URL is required");
  let panel: URL;
  try {
    panel = new URL(panelArg);
  } catch {
    throw new AgentConfigError(`--panel ${panelArg}: not a URL, e.g. https://panel.example:9443`);
  }
  const joinArg = flags.get("--join") ?? env.GHOSTPANEL_JOIN;
  let join: JoinToken | undefined;
  try {
    join = joinArg === undefined ? undefined : decodeJoinToken(joinArg);
    const engine = parseEngineUrl(flags.get("--engine") ?? env.DOCKER_HOST ?? "unix:///var/run/docker.sock");
    if (engine.protocol === "https")
      throw new AgentConfigError("--engine: a TLS engine is not supported by the agent yet");
    const retry = Number(flags.get("--quic-retry") ?? 60);
    if (!Number.isInteger(retry) || retry < 1 || retry > 86_400)
      throw new AgentConfigError("--quic-retry: a whole number of seconds, 1 to 86400");
    return {
      panel,
      join,
      engine,
      dataDir: resolve(flags.get("--data") ?? "ghostpanel-agent"),
      quicRetryMs: retry * 1000,
    };
  } catch (err) {
    throw err instanceof AgentConfigError ? err : new AgentConfigError((err as Error).message);
  }
}

/**
 * The agent: dials the panel, pins its certificate, proves its key (joining with the token the first
 * time), then answers the engine calls the panel sends until the link drops; then again, with
 * backoff. Over QUIC when it can; when no QUIC handshake comes within QUIC_OPEN_MS (UDP blocked on
 * the way), over a WebSocket to the panel's HTTPS port, trying QUIC again every `quicRetryMs`.
 * Resolves only when the panel refuses it for good.
 */
export async function runAgent(
  config: AgentConfig,
  log: (line: string) => void = console.log,
): Promise<never> {
  const identity = AgentIdentity.open(config.dataDir);
  if (!identity.joined && !config.join)
    throw new AgentConfigError(
      `${config.dataDir} holds no joined agent: give --join TOKEN (made in the panel)`,
    );
  if (identity.joined && config.join)
    log(`Joined already as "${identity.joined.id}" (${config.dataDir}): --join ignored.`);
  let backoff = BACKOFF_MIN_MS;
  for (;;) {
    const started = Date.now();
    try {
      const { session, transport, where } = await dial(config, identity, log);
      await link(session, transport, where, config, identity, log);
    } catch (err) {
      if (err instanceof Final) {
        log(`ghostpanel agent: ${err.message}`);
        process.exit(1);
      }
      log(`Panel link lost: ${(err as Error).message}. Retrying in ${backoff} ms.`);
    }
    if (Date.now() - started > BACKOFF_MAX_MS) backoff = BACKOFF_MIN_MS;
    await Bun.sleep(backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  }
}

interface Dialled {
  session: LinkSession;
  transport: LinkTransport;
  where: string;
}

/** QUIC first; the WebSocket when QUIC got no answer at all (a refusal or a wrong certificate is no reason to try another way). */
async function dial(
  config: AgentConfig,
  identity: AgentIdentity,
  log: (line: string) => void,
): Promise<Dialled> {
  const trust = identity.joined ?? config.join!;
  try {
    return await dialQuic(config, trust, QUIC_OPEN_MS);
  } catch (err) {
    if (!(err instanceof NoAnswer)) throw pinned(err, identity, trust.fingerprint);
    if (config.panel.protocol !== "https:")
      throw new Error(`${err.message}, and ${config.panel.origin} is not HTTPS (no WebSocket fallback)`);
    log(`${err.message}: trying a WebSocket to ${config.panel.host}.`);
  }
  try {
    const session = await dialWebSocket(config.panel, trust.fingerprint, OPEN_TIMEOUT_MS);
    return { session, transport: "WebSocket", where: config.panel.host };
  } catch (err) {
    throw pinned(err, identity, trust.fingerprint);
  }
}

class NoAnswer extends Error {}

async function dialQuic(config: AgentConfig, trust: Joined | JoinToken, openMs: number): Promise<Dialled> {
  // The host is the one the agent was told to reach the panel at; the port, the panel's agent listener's.
  const port = /:(\d+)$/.exec(trust.address)?.[1];
  if (!port) throw new Final(`the panel's agent address "${trust.address}" names no port`);
  const host = config.panel.hostname.replace(/^\[|\]$/g, "");
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const { connect } = await import("node:quic");
  const session: QuicSession = await connect(where, {
    alpn: AGENT_ALPN,
    servername: host,
    // Not a CA's word: the one certificate whose fingerprint the join token carried.
    verifyPeer: "manual",
    streamIdleTimeout: 0,
    transportParams: TRANSPORT_PARAMS,
  } as Parameters<typeof connect>[1]);
  session.closed.catch(() => {});
  try {
    await timed(session.opened, openMs, "the panel did not answer over QUIC", NoAnswer);
    const presented = session.peerCertificate?.fingerprint256;
    if (presented !== trust.fingerprint) throw new PinMismatch(presented);
  } catch (err) {
    session.destroy();
    throw err;
  }
  return { session: quicLink(session), transport: "QUIC", where };
}

/** A wrong certificate before joining is final: nothing is kept, so nothing would change by retrying. */
function pinned(err: unknown, identity: AgentIdentity, fingerprint: string): Error {
  if (!(err instanceof PinMismatch)) return err as Error;
  const why = `refused the panel: its certificate ${err.presented ?? "(none)"} is not the pinned ${fingerprint}`;
  // a joined agent waits for its panel's certificate to come back
  return identity.joined ? new Error(why) : new Final(why);
}

async function link(
  session: LinkSession,
  transport: LinkTransport,
  where: string,
  config: AgentConfig,
  identity: AgentIdentity,
  log: (line: string) => void,
): Promise<void> {
  const joining = identity.joined === undefined;
  const trust = identity.joined ?? config.join!;
  let retry: ReturnType<typeof setInterval> | undefined;
  let stopStats: (() => void) | undefined;
  try {
    session.onstream = (stream) => {
      stream.closed.catch(() => {});
      void serveCall(stream, config.engine);
    };
    const control = await session.createBidirectionalStream();
    control.closed.catch(() => {});
    const writer = control.writer;
    const reader = new FrameReader(control);
    const read = <T>() =>
      timed(reader.frame<T & { t: string; reason?: string }>(), SILENCE_MS, "the panel went quiet");
    await writer.write(
      encodeFrame(
        joining
          ? { t: "join", secret: config.join!.secret, key: identity.publicKey, stats: true }
          : { t: "hello", id: identity.joined!.id, stats: true },
      ),
    );
    const challenge = await read<{ nonce: string }>();
    if (challenge?.t === "refused") throw new Final(`the panel refused this agent: ${challenge.reason}`);
    if (challenge?.t !== "challenge" || typeof challenge.nonce !== "string")
      throw new Error("no challenge from the panel");
    await writer.write(encodeFrame({ t: "proof", sig: identity.prove(challenge.nonce, trust.fingerprint) }));
    const welcome = await read<{ id: string; stats?: number }>();
    if (welcome?.t === "refused") throw new Final(`the panel refused this agent: ${welcome.reason}`);
    if (welcome?.t !== "welcome" || typeof welcome.id !== "string")
      throw new Error("no welcome from the panel");
    if (joining) identity.save({ id: welcome.id, fingerprint: trust.fingerprint, address: trust.address });
    log(
      `Connected to the panel at ${where} over ${transport} as "${welcome.id}"${joining ? " (joined)" : ""}.`,
    );
    // Each ping says how the engine here answered just before: the panel's heartbeat of this engine
    // then needs no call through the link (src/agent/agent-engine.ts).
    const engine = new DockerHttpEngine(config.engine);
    const pinger = setInterval(
      () =>
        void engine
          .ping(AbortSignal.timeout(ENGINE_PING_TIMEOUT_MS))
          .then(
            () => ({ t: "ping", engine: true }),
            (err: unknown) => ({ t: "ping", engine: false, error: (err as Error).message }),
          )
          .then((frame) => writer.write(encodeFrame(frame)))
          .catch(() => {}),
      PING_MS,
    );
    const { stats } = welcome;
    if (typeof stats === "number" && stats >= 500 && stats <= 10_000)
      stopStats = sendStats(session, config.engine, stats);
    // On the fallback, a QUIC handshake now and then: once UDP passes again, the link moves back.
    let probing = false;
    if (transport === "WebSocket")
      retry = setInterval(() => {
        if (probing) return;
        probing = true;
        dialQuic(config, identity.joined ?? trust, QUIC_OPEN_MS)
          .then(({ session: quic }) => {
            quic.destroy();
            log("QUIC answers again: leaving the WebSocket.");
            session.destroy();
          })
          .catch(() => {})
          .finally(() => {
            probing = false;
          });
      }, config.quicRetryMs);
    try {
      for (;;) {
        const frame = await Promise.race([read(), session.closed.then(() => undefined)]);
        if (!frame) throw new Error("the panel closed the link");
        if (frame.t === "refused") throw new Final(`the panel refused this agent: ${frame.reason}`);
      }
    } finally {
      clearInterval(pinger);
    }
  } finally {
    clearInterval(retry);
    stopStats?.();
    session.destroy();
  }
}

function timed<T>(p: Promise<T>, ms: number, what: string, as: new (m: string) => Error = Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new as(what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
