import { resolve } from "node:path";

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  engineUrl: string;
  engineCertDir: string | undefined;
  tls: { mode: "off" } | { mode: "auto" } | { mode: "files"; cert: string; key: string };
  /** A plain-HTTP listener that redirects to HTTPS (only with TLS on). */
  listenHttp: { host: string; port: number } | undefined;
  adminPasswordFile: string | undefined;
  adminUsername: string;
  statsIntervalMs: number;
  /** refusals without credentials an address may have per minute before 429; 0: no limit */
  anonymousLimit: number;
  /** A plain-HTTP loopback listener answering only the Vesla Console's routes (src/vesla/). */
  veslaListen?: { host: string; port: number } | undefined;
  /** A QUIC (UDP) listener that edge agents dial out to (src/agent/); none unless asked for. */
  agentListen?: { host: string; port: number } | undefined;
  /** Also serve HTTP/3 over QUIC, on the listen port's number in UDP (needs TLS). */
  http3?: boolean;
}

export class ConfigError extends Error {}

export const SERVE_USAGE = `Usage: ghostpanel serve [options]
  --listen HOST:PORT          where to listen (env GHOSTPANEL_LISTEN; default 0.0.0.0:9443)
  --data DIR                  data directory (env GHOSTPANEL_DATA; default ./ghostpanel-data)
  --engine URL                engine: unix:///var/run/docker.sock, tcp://host:2375 (env GHOSTPANEL_ENGINE)
  --engine-cert-dir DIR       ca.pem, cert.pem, key.pem for a TLS engine (env DOCKER_CERT_PATH)
  --tls off|auto|CERT,KEY     HTTPS: auto makes a self-signed certificate in DIR (env GHOSTPANEL_TLS; default auto);
                              SIGHUP reads the certificate and key files again, open connections stay
  --listen-http HOST:PORT     also listen for plain HTTP there and redirect it to HTTPS (308; needs TLS on;
                              env GHOSTPANEL_LISTEN_HTTP)
  --admin-password-file F     create the first admin ("admin", or --admin-username) with this password
  --admin-username NAME       name for that admin (default admin)
  --stats-interval SECONDS    how often live stats are read, 0.5 to 10 (env GHOSTPANEL_STATS_INTERVAL; default 1)
  --anonymous-limit N         requests without valid credentials that one address may have refused per minute
                              before it gets 429 (0: no limit; env GHOSTPANEL_ANONYMOUS_LIMIT; default 60)
  --vesla-listen HOST:PORT    also answer the Vesla Console's API (only its routes, same logins and tokens) in
                              plain HTTP there, e.g. 127.0.0.1:5003; loopback addresses only
                              (env GHOSTPANEL_VESLA_LISTEN)
  --agent-listen HOST:PORT    also listen for edge agents there, over QUIC (UDP), e.g. 0.0.0.0:9444; join tokens
                              carry this port and the panel's certificate fingerprint (env GHOSTPANEL_AGENT_LISTEN)
  --http3                     also serve the UI, the API and the live feed over HTTP/3 (QUIC) on the same port
                              number in UDP, announced with Alt-Svc; needs TLS; experimental in Bun
                              (env GHOSTPANEL_HTTP3=1)`;

const FLAGS = new Set([
  "--listen",
  "--data",
  "--engine",
  "--engine-cert-dir",
  "--tls",
  "--listen-http",
  "--admin-password-file",
  "--admin-username",
  "--stats-interval",
  "--anonymous-limit",
  "--vesla-listen",
  "--agent-listen",
]);
/** Options that take no value. */
const SWITCHES = new Set(["--http3"]);

export function parseServeArgs(argv: string[], env: Record<string, string | undefined>): ServeConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg];
    if (SWITCHES.has(arg)) {
      flags.set(arg, "1");
      continue;
    }
    if (!FLAGS.has(name!)) throw new ConfigError(`unknown option ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new ConfigError(`${name} needs a value`);
    flags.set(name!, value);
  }
  const listen = hostPort("--listen", flags.get("--listen") ?? env.GHOSTPANEL_LISTEN ?? "0.0.0.0:9443", 9443);
  const tlsArg = flags.get("--tls") ?? env.GHOSTPANEL_TLS ?? "auto";
  let tls: ServeConfig["tls"];
  if (tlsArg === "off" || tlsArg === "auto") tls = { mode: tlsArg };
  else {
    const [cert, key, extra] = tlsArg.split(",");
    if (!cert || !key || extra !== undefined)
      throw new ConfigError(`--tls ${tlsArg}: expected off, auto or CERT,KEY`);
    tls = { mode: "files", cert: resolve(cert), key: resolve(key) };
  }
  const listenHttpArg = flags.get("--listen-http") ?? env.GHOSTPANEL_LISTEN_HTTP;
  const listenHttp = listenHttpArg === undefined ? undefined : hostPort("--listen-http", listenHttpArg, 80);
  if (listenHttp && tls.mode === "off") {
    throw new ConfigError(
      "--listen-http redirects plain HTTP to HTTPS, so it needs TLS: use --tls auto or --tls CERT,KEY, or leave --listen-http out",
    );
  }
  const http3Arg = flags.get("--http3") ?? env.GHOSTPANEL_HTTP3 ?? "0";
  if (!["0", "1", "true", "false", ""].includes(http3Arg)) {
    throw new ConfigError(`GHOSTPANEL_HTTP3=${http3Arg}: expected 1 or 0`);
  }
  const http3 = http3Arg === "1" || http3Arg === "true";
  if (http3 && tls.mode === "off") {
    throw new ConfigError(
      "--http3 runs over QUIC, which is always encrypted, so it needs TLS: use --tls auto or --tls CERT,KEY, or leave --http3 out",
    );
  }
  const interval = flags.get("--stats-interval") ?? env.GHOSTPANEL_STATS_INTERVAL ?? "1";
  const seconds = Number(interval);
  if (!/^\d+(\.\d+)?$/.test(interval) || seconds < 0.5 || seconds > 10) {
    throw new ConfigError(`--stats-interval ${interval}: seconds from 0.5 to 10`);
  }
  const anonymousLimit = flags.get("--anonymous-limit") ?? env.GHOSTPANEL_ANONYMOUS_LIMIT ?? "60";
  if (!/^\d{1,6}$/.test(anonymousLimit)) {
    throw new ConfigError(
      `--anonymous-limit ${anonymousLimit}: a whole number of requests per minute, 0 for none`,
    );
  }
  const veslaArg = flags.get("--vesla-listen") ?? env.GHOSTPANEL_VESLA_LISTEN;
  const veslaListen = veslaArg === undefined ? undefined : hostPort("--vesla-listen", veslaArg, 5003);
  // Plain HTTP carries tokens and cookies in the clear: only where nothing but this machine listens
  // (the seed sat behind `tailscale serve` on 127.0.0.1:5003 the same way).
  if (veslaListen && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(veslaListen.host)) {
    throw new ConfigError(
      `--vesla-listen ${veslaArg}: plain HTTP, so loopback only (127.0.0.1, ::1 or localhost); put a TLS proxy in front for other hosts`,
    );
  }
  const agentArg = flags.get("--agent-listen") ?? env.GHOSTPANEL_AGENT_LISTEN;
  const agentListen = agentArg === undefined ? undefined : hostPort("--agent-listen", agentArg, 9444);
  return {
    ...listen,
    veslaListen,
    agentListen,
    http3,
    dataDir: resolve(flags.get("--data") ?? env.GHOSTPANEL_DATA ?? "ghostpanel-data"),
    engineUrl: flags.get("--engine") ?? env.GHOSTPANEL_ENGINE ?? defaultEngine(env),
    engineCertDir: flags.get("--engine-cert-dir") ?? env.DOCKER_CERT_PATH,
    tls,
    listenHttp,
    adminPasswordFile: flags.get("--admin-password-file"),
    adminUsername: flags.get("--admin-username") ?? "admin",
    statsIntervalMs: Math.round(seconds * 1000),
    anonymousLimit: Number(anonymousLimit),
  };
}

function hostPort(flag: string, value: string, examplePort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new ConfigError(`${flag} ${value}: expected HOST:PORT, e.g. 0.0.0.0:${examplePort}`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

// DOCKER_HOST is what every Docker tool already honours.
function defaultEngine(env: Record<string, string | undefined>): string {
  return env.DOCKER_HOST || "unix:///var/run/docker.sock";
}
