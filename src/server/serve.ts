import { readFileSync } from "node:fs";
import { websocket } from "hono/bun";
import { AuditLog } from "../audit/audit-log.ts";
import { LoginThrottle } from "../auth/login-throttle.ts";
import { Policy } from "../auth/policy.ts";
import { SessionStore } from "../auth/sessions.ts";
import { TeamStore } from "../auth/teams.ts";
import { TokenStore } from "../auth/tokens.ts";
import { UserStore } from "../auth/users.ts";
import { readCertDir } from "../engine/url.ts";
import { Environments } from "../envs/environments.ts";
import { SecretKeyError } from "../secrets/key-file.ts";
import { openVault, type SecretVault } from "../secrets/vault.ts";
import { SettingsStore } from "../settings/settings-store.ts";
import { chooseStatsSource } from "../stats/choose-source.ts";
import { StatsCollectors } from "../stats/collectors.ts";
import { openDatabase } from "../store/database.ts";
import { TopicBus } from "../stream/bus.ts";
import { registerContainerTopic } from "../stream/topics/containers.ts";
import { registerEnvironmentTopic } from "../stream/topics/environments.ts";
import { registerLogTopic } from "../stream/topics/logs.ts";
import { registerStatsTopic } from "../stream/topics/stats.ts";
import { SEND_BUFFER_LIMIT } from "../stream/websocket.ts";
import { autoTls, loadTls, type TlsFiles } from "../tls/certificate.ts";
import { createApp } from "./app.ts";
import { ConfigError, type ServeConfig } from "./config.ts";
import type { RouteInfo } from "./route-table.ts";

export interface RunningPanel {
  url: string;
  /** every API route and the action it needs (for the access-matrix test) */
  routes: readonly RouteInfo[];
  port: number;
  tls: TlsFiles | undefined;
  stop(): Promise<void>;
}

export async function startPanel(
  config: ServeConfig,
  version: string,
  log: (line: string) => void = console.log,
): Promise<RunningPanel> {
  const db = openDatabase(config.dataDir);
  let vault: SecretVault;
  try {
    vault = openVault(db, config.dataDir);
  } catch (err) {
    db.close();
    // A refused or mismatched key file is the operator's to fix: one line (main.ts), no stack.
    throw err instanceof SecretKeyError ? new ConfigError(err.message) : err;
  }
  const users = new UserStore(db);
  const sessions = new SessionStore(db);
  const tokens = new TokenStore(db);
  const teams = new TeamStore(db);
  const policy = new Policy(teams);
  const throttle = new LoginThrottle(db);
  const settings = new SettingsStore(db);
  sessions.pruneExpired();
  const audit = new AuditLog(db);
  if (config.adminPasswordFile) await createAdminFromFile(users, config, log);

  const envs = new Environments(db, vault);
  const bus = new TopicBus(policy);
  registerEnvironmentTopic(bus, envs);
  registerContainerTopic(bus, envs, policy);
  registerLogTopic(bus, envs);
  const collectors = new StatsCollectors(envs, db, chooseStatsSource, config.statsIntervalMs, [
    "/",
    config.dataDir,
  ]);
  registerStatsTopic(bus, envs, collectors, policy);
  reportEngineStatus(envs, log);
  let tls: TlsFiles | undefined;
  try {
    envs.start(config.engineUrl, config.engineCertDir ? readCertDir(config.engineCertDir) : undefined);
    if (config.tls.mode === "auto") tls = await autoTls(config.dataDir);
    else if (config.tls.mode === "files") tls = loadTls(config.tls.cert, config.tls.key);
  } catch (err) {
    collectors.close();
    envs.stop();
    db.close();
    throw new ConfigError((err as Error).message);
  }

  const { app, routes } = createApp({
    users,
    sessions,
    tokens,
    teams,
    policy,
    throttle,
    settings,
    envs,
    bus,
    collectors,
    audit,
    version,
    secureCookies: tls !== undefined,
  });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: config.host,
      port: config.port,
      fetch: app.fetch,
      websocket: { ...websocket, backpressureLimit: SEND_BUFFER_LIMIT * 2, maxPayloadLength: 64 * 1024 },
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    });
  } catch (err) {
    collectors.close();
    envs.stop();
    db.close();
    throw new ConfigError(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  audit.startRetention();
  const scheme = tls ? "https" : "http";
  const shownHost = ["0.0.0.0", "::", ""].includes(config.host) ? "localhost" : config.host;
  const url = `${scheme}://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${server.port}`;
  log(`GhostPanel ${version} listening on ${scheme}://${config.host}:${server.port} — open ${url}`);
  if (tls) log(`TLS certificate ${tls.certPath}\n  SHA-256 fingerprint ${tls.fingerprint}`);
  if (users.count() === 0) log(`First run: open ${url} to create the admin account (or POST /api/v1/setup).`);
  log(`Data directory: ${config.dataDir}`);

  return {
    url,
    routes,
    port: server.port ?? config.port,
    tls,
    async stop() {
      collectors.close();
      envs.stop();
      audit.stop();
      await server.stop(true);
      db.close();
    },
  };
}

async function createAdminFromFile(users: UserStore, config: ServeConfig, log: (line: string) => void) {
  let password: string;
  try {
    password = readFileSync(config.adminPasswordFile!, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new ConfigError(`--admin-password-file: ${(err as Error).message}`);
  }
  if (password.length < 8)
    throw new ConfigError("--admin-password-file: the password needs at least 8 characters");
  const created = await users.createFirstAdmin(config.adminUsername, password);
  log(
    created
      ? `Created the first admin "${created.username}" from ${config.adminPasswordFile}.`
      : "Users exist already: --admin-password-file ignored.",
  );
}

/** Says in plain words when an engine comes or goes, and how to point the panel at one. */
function reportEngineStatus(envs: Environments, log: (line: string) => void): void {
  const last = new Map<string, string>();
  envs.onChange((id, change) => {
    if (change.kind !== "status" || change.status === "connecting" || last.get(id) === change.status) return;
    last.set(id, change.status);
    const env = envs.get(id);
    if (!env) return;
    if (change.status === "up") {
      const f = env.engine.facts;
      log(`Engine "${id}" up: ${env.url} (${f?.kind} ${f?.version}, API ${f?.api_version})`);
      return;
    }
    log(
      `Engine "${id}" unreachable at ${env.url}: ${change.error ?? "no answer"}. Retrying in the background.`,
    );
    if (id === "local") {
      log(
        "  To use another engine: ghostpanel serve --engine unix:///path/to/docker.sock (or tcp://HOST:2375),\n" +
          "  or set GHOSTPANEL_ENGINE. Is Docker running? Try: sudo systemctl start docker",
      );
    }
  });
}
