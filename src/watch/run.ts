import { readFileSync } from "node:fs";
import { readFeed } from "../protocol/feed.ts";
import { decodeFrame, type Frame } from "../protocol/frames.ts";
import { StatsTable } from "../protocol/stats-frames.ts";
import { renderTable } from "./table.ts";

export const WATCH_USAGE = `Usage: ghostpanel watch --panel URL [options]
  --panel URL        the panel, e.g. https://panel.example:9443
  --token T          an API token (POST /api/v1/tokens; env GHOSTPANEL_TOKEN, which ps does not show)
  --env ID           the environment to watch (default local)
  --via ws|h3        the live stream's transport: ws, the WebSocket (default), or h3, the feed over
                     HTTP/3 (a panel run with --http3)
  --ca FILE          trust this certificate (the panel's tls-cert.pem for --tls auto); not with --via h3
  --insecure         accept any certificate
  --once             print one table of figures and exit (no terminal control)
Keys: Ctrl-C quits.`;

export class WatchError extends Error {}

export interface WatchConfig {
  panel: URL;
  token: string;
  env: string;
  via: "ws" | "h3";
  once: boolean;
  tls: { ca: string } | { rejectUnauthorized: false } | undefined;
}

const VALUED = new Set(["--panel", "--token", "--env", "--via", "--ca"]);
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
  const via = flags.get("--via") ?? "ws";
  if (via !== "ws" && via !== "h3") throw new WatchError(`--via ${via}: ws or h3`);
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
  return { panel, token, env: envId, via, once: flags.has("--once"), tls };
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

/** The live frames of `topics`, as they come, until the link ends (the promise then settles). */
function stream(config: WatchConfig, topics: string[], onFrame: (f: Frame) => void): Promise<void> {
  const query = `topics=${encodeURIComponent(topics.join(","))}`;
  if (config.via === "h3") {
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
  const table = new StatsTable();
  const transport = config.via === "h3" ? "HTTP/3 feed" : "WebSocket";
  const title = () => {
    const age = table.sampledAt ? ((Date.now() - table.sampledAt) / 1000).toFixed(1) : "-";
    return `GhostPanel ${config.panel.host} · ${config.env} · ${table.rows.size} running · via ${transport} · ${table.source || "…"} figures, ${age} s old`;
  };
  let applied = 0;
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
    if (table.apply(f.k, f.d)) applied++;
    // Rates need a whole tick: the keyframe, then one delta.
    if (config.once && applied >= 2) finish();
    else if (!config.once) draw();
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
    const link = stream(config, [topic], onFrame);
    link.then(finish, (err) => {
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
      await Promise.race([stream(config, [topic], onFrame), done]);
    } catch (err) {
      if (interactive) out.write(`\x1b[H\x1b[2K${(err as Error).message}: reconnecting…`);
      else console.error(`ghostpanel watch: ${(err as Error).message}: reconnecting…`);
    }
    if (failure) throw failure;
    if (Date.now() - started > 30_000) wait = 1000;
    await Bun.sleep(wait);
  }
}
