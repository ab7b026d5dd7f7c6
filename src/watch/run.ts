import { readFileSync } from "node:fs";
import { readFeed } from "../protocol/feed.ts";
import { decodeFrame, type Frame } from "../protocol/frames.ts";
import { StatsParts } from "../protocol/stats-datagrams.ts";
import type { QuicWatchInfo } from "../protocol/watch-quic.ts";
import { QuicRefused, type QuicTarget, QuicUnreachable, quicStream } from "./quic.ts";
import { renderTable } from "./table.ts";

export const WATCH_USAGE = `Usage: ghostpanel watch --panel URL [options]
  --panel URL        the panel, e.g. https://panel.example:9443
  --token T          an API token (POST /api/v1/tokens; env GHOSTPANEL_TOKEN, which ps does not show)
  --env ID           the environment to watch (default local)
  --via auto|quic|ws|h3  the live stream's transport: auto (default), quic when the panel has a
                     QUIC listener that answers within 4 s, else ws; quic, stats as QUIC datagrams
                     on the panel's agent listener (a panel run with --agent-listen); ws, the
                     WebSocket; h3, the feed over HTTP/3 (a panel run with --http3)
  --quic HOST:PORT   reach the QUIC listener there rather than where the panel says it is
  --fingerprint FP   the certificate the QUIC listener must present (SHA-256, AB:CD:…); default: the
                     one the panel names over HTTPS (as trustworthy as that connection)
  --ca FILE          trust this certificate (the panel's tls-cert.pem for --tls auto); not with --via h3
  --insecure         accept any certificate
  --once             print one table of figures and exit (no terminal control)
Keys: Ctrl-C quits.`;

export class WatchError extends Error {}

/** The panel said no (the token, the pinned certificate): trying again cannot help. */
class WatchRefused extends WatchError {}

export interface WatchConfig {
  panel: URL;
  token: string;
  env: string;
  /** auto: QUIC if the panel has a listener that answers, else the WebSocket */
  via: "auto" | "quic" | "ws" | "h3";
  once: boolean;
  quic?: { host: string; port: number };
  fingerprint?: string;
  tls: { ca: string } | { rejectUnauthorized: false } | undefined;
}

const VALUED = new Set(["--panel", "--token", "--env", "--via", "--ca", "--quic", "--fingerprint"]);
const SWITCHES = new Set(["--once", "--insecure"]);

export function parseWatchArgs(argv: string[], env: Record<string, string | undefined>): WatchConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (SWITCHES.has(arg)) flags.set(arg, "1");
    else if (VALUED.has(arg)) {
      const value = argv[++i];
      if (!value) throw new WatchError(`${arg} needs a value`);
      flags.set(arg, value);
    } else throw new WatchError(`unknown option ${arg}`);
  }
  const panelArg = flags.get("--panel");
  if (!panelArg) throw new WatchError("--panel URL is needed");
  let panel: URL;
  try {
    panel = new URL(panelArg);
  } catch {
    throw new WatchError(`--panel ${panelArg}: not a URL (e.g. https://127.0.0.1:9443)`);
  }
  if (panel.protocol !== "https:" && panel.protocol !== "http:")
    throw new WatchError(`--panel ${panelArg}: an http:// or https:// URL`);
  const token = flags.get("--token") ?? env.GHOSTPANEL_TOKEN;
  if (!token)
    throw new WatchError("--token T (or GHOSTPANEL_TOKEN) is needed: make one with POST /api/v1/tokens");
  const via = flags.get("--via") ?? "auto";
  if (via !== "auto" && via !== "quic" && via !== "ws" && via !== "h3")
    throw new WatchError(`--via ${via}: auto, quic, ws or h3`);
  if ((flags.has("--quic") || flags.has("--fingerprint")) && (via === "ws" || via === "h3"))
    throw new WatchError(`--quic and --fingerprint are for --via quic, not --via ${via}`);
  const fingerprint = flags.get("--fingerprint")?.toUpperCase();
  if (fingerprint !== undefined && !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(fingerprint))
    throw new WatchError(`--fingerprint ${fingerprint}: a SHA-256 as 32 hex pairs, AB:CD:…`);
  let quic: WatchConfig["quic"];
  const quicArg = flags.get("--quic");
  if (quicArg !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(quicArg);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65_535) throw new WatchError(`--quic ${quicArg}: HOST:PORT`);
    quic = { host: (m[1] ?? m[2])!, port };
  }
  const caFile = flags.get("--ca");
  if (caFile && flags.has("--insecure")) throw new WatchError("--ca and --insecure: one or the other");
  if (via === "h3" && panel.protocol !== "https:") throw new WatchError("--via h3 needs an https:// panel");
  // Bun's HTTP/3 client answers "HTTP3Unsupported" when given a CA of its own.
  if (via === "h3" && caFile)
    throw new WatchError("--via h3 cannot use --ca (Bun's HTTP/3 client takes no CA file): use --insecure");
  let tls: WatchConfig["tls"];
  if (caFile) {
    try {
      tls = { ca: readFileSync(caFile, "utf8") };
    } catch (err) {
      throw new WatchError(`--ca ${caFile}: ${(err as Error).message}`);
    }
  } else if (flags.has("--insecure")) tls = { rejectUnauthorized: false };
  const envId = flags.get("--env") ?? "local";
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(envId))
    throw new WatchError(`--env ${envId}: not an environment id`);
  return { panel, token, env: envId, via, once: flags.has("--once"), tls, quic, fingerprint };
}

/** Says in words when the panel cannot be reached, refuses the token, or has no such environment. */
async function check(config: WatchConfig): Promise<void> {
  const url = new URL(`/api/v1/envs/${encodeURIComponent(config.env)}`, config.panel);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${config.token}` },
      tls: config.tls,
      signal: AbortSignal.timeout(15_000),
    } as RequestInit);
  } catch (err) {
    throw new WatchError(`cannot reach the panel at ${config.panel.origin}: ${(err as Error).message}`);
  }
  if (res.ok) return;
  const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  const why = body?.error?.message ?? res.statusText;
  if (res.status === 401) throw new WatchError(`the panel refused the token: ${why}`);
  throw new WatchError(`environment "${config.env}": ${why} (${res.status})`);
}

/**
 * Where the panel's QUIC listener is and the certificate it must present; undefined when the panel
 * has none. Asked over the connection `check` trusted, so the fingerprint is as good as that.
 */
async function quicTarget(config: WatchConfig): Promise<QuicTarget | undefined> {
  const res = await fetch(new URL("/api/v1/stream/quic", config.panel), {
    headers: { authorization: `Bearer ${config.token}` },
    tls: config.tls,
    signal: AbortSignal.timeout(15_000),
  } as RequestInit);
  if (res.status === 409) return undefined;
  if (!res.ok) throw new WatchError(`the panel did not say where its QUIC listener is (${res.status})`);
  const info = (await res.json()) as QuicWatchInfo;
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(info.address);
  if (!m) throw new WatchError(`the panel names its QUIC listener "${info.address}": not HOST:PORT`);
  // The panel's own host name when the listener takes every address.
  const host = config.quic?.host ?? (m[1] || m[2] || config.panel.hostname.replace(/^\[|\]$/g, ""));
  return {
    host,
    port: config.quic?.port ?? Number(m[3]),
    fingerprint: config.fingerprint ?? info.fingerprint,
    servername: config.panel.hostname.replace(/^\[|\]$/g, ""),
  };
}

/** The live frames of `topics`, as they come, until the link ends (the promise then settles). */
function stream(
  config: WatchConfig,
  via: "quic" | "ws" | "h3",
  target: QuicTarget | undefined,
  topics: string[],
  onFrame: (f: Frame) => void,
): Promise<void> {
  const query = `topics=${encodeURIComponent(topics.join(","))}`;
  if (via === "quic" && target) {
    return quicStream(target, config.token, topics, onFrame).catch((err) => {
      throw err instanceof QuicRefused ? new WatchRefused(err.message) : err;
    });
  }
  if (via === "h3") {
    const url = new URL(`/api/v1/stream/feed?${query}`, config.panel);
    return (async () => {
      const res = await fetch(url, {
        protocol: "http3",
        headers: { authorization: `Bearer ${config.token}` },
        tls: config.tls,
      } as RequestInit);
      if (!res.ok || !res.body) throw new WatchError(`the feed answered ${res.status}`);
      for await (const f of readFeed(res.body)) onFrame(f);
    })();
  }
  const url = new URL(`/api/v1/stream?${query}`, config.panel);
  url.protocol = config.panel.protocol === "https:" ? "wss:" : "ws:";
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${config.token}` },
      tls: config.tls,
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => onFrame(decodeFrame(new Uint8Array(e.data as ArrayBuffer)));
    ws.onerror = () => reject(new WatchError("the live stream failed"));
    ws.onclose = (e) =>
      e.code === 1000 || e.code === 1005
        ? resolve()
        : reject(new WatchError(`the live stream closed: ${e.code} ${e.reason}`));
  });
}

const ALT_SCREEN = "\x1b[?1049h\x1b[?25l";
const MAIN_SCREEN = "\x1b[?25h\x1b[?1049l";

/**
 * `ghostpanel watch`: live stats of one environment, decoded by the UI's own StatsTable. With
 * --once, one table as plain text once the figures cover a whole tick.
 */
export async function runWatch(config: WatchConfig, out: NodeJS.WriteStream = process.stdout): Promise<void> {
  await check(config);
  const topic = `stats:${config.env}`;
  const parts = new StatsParts();
  const table = parts.table;
  let via: "quic" | "ws" | "h3" = config.via === "auto" ? "quic" : config.via;
  const target = via === "quic" ? await quicTarget(config) : undefined;
  if (via === "quic" && !target) {
    if (config.via === "quic")
      throw new WatchError("the panel has no QUIC listener (it runs without --agent-listen): use --via ws");
    via = "ws";
  }
  const names = { quic: "QUIC datagrams", ws: "WebSocket", h3: "HTTP/3 feed" };
  /** One link, and with no --via, the WebSocket from now on when UDP does not get through. */
  const link = (onFrame: (f: Frame) => void): Promise<void> =>
    stream(config, via, target, [topic], onFrame).catch((err) => {
      if (!(err instanceof QuicUnreachable) || config.via !== "auto") throw err;
      console.error(`ghostpanel watch: ${err.message}: falling back to the WebSocket`);
      via = "ws";
      return stream(config, via, target, [topic], onFrame);
    });
  const title = () => {
    const age = table.sampledAt ? ((Date.now() - table.sampledAt) / 1000).toFixed(1) : "-";
    return `GhostPanel ${config.panel.host} · ${config.env} · ${table.rows.size} running · via ${names[via]} · ${table.source || "…"} figures, ${age} s old`;
  };
  let deltas = 0;
  let failure: Error | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onFrame = (f: Frame) => {
    if (f.t !== topic) return;
    if (f.k === "error") {
      const d = f.d as { message?: string };
      failure = new WatchError(`${topic}: ${d?.message ?? "refused"}`);
      finish();
      return;
    }
    const took = parts.apply(f.k, f.d);
    // Rates need a whole tick: the keyframe, then one delta (its last part, if it came in parts),
    // one that ends a tick. A tick read in several frames is drawn once, whole.
    const part = (f.d as { p?: [number, number] } | undefined)?.p;
    const whole = !table.partial && (!part || part[0] === part[1] - 1);
    if (took && f.k === "delta" && whole) deltas++;
    if (config.once && deltas >= 1) finish();
    else if (!config.once && whole) draw();
  };
  const interactive = !config.once && out.isTTY === true;
  const draw = () => {
    const lines = renderTable(
      table.views(),
      interactive ? { title: title(), columns: out.columns, rows: out.rows } : { title: title() },
    );
    out.write(interactive ? `\x1b[H\x1b[2J${lines.join("\n")}` : `${lines.join("\n")}\n\n`);
  };
  if (config.once) {
    link(onFrame).then(finish, (err) => {
      failure = err;
      finish();
    });
    await Promise.race([
      done,
      Bun.sleep(20_000).then(() => (failure ??= new WatchError("no stats came within 20 s"))),
    ]);
    if (failure) throw failure;
    out.write(`${renderTable(table.views(), { title: title() }).join("\n")}\n`);
    return;
  }
  if (interactive) {
    out.write(ALT_SCREEN);
    const restore = () => out.write(MAIN_SCREEN);
    process.on("exit", restore);
    const quit = () => process.exit(0);
    process.on("SIGINT", quit);
    process.on("SIGTERM", quit);
    out.on("resize", draw);
  }
  // The link comes back after a failure, with a fresh keyframe; Ctrl-C is the way out.
  for (let wait = 1000; ; wait = Math.min(wait * 2, 15_000)) {
    const started = Date.now();
    try {
      await Promise.race([link(onFrame), done]);
    } catch (err) {
      if (err instanceof WatchRefused) throw err;
      if (interactive) out.write(`\x1b[H\x1b[2K${(err as Error).message}: reconnecting…`);
      else console.error(`ghostpanel watch: ${(err as Error).message}: reconnecting…`);
    }
    if (failure) throw failure;
    if (Date.now() - started > 30_000) wait = 1000;
    await Bun.sleep(wait);
  }
}
