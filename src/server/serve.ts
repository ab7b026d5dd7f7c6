import { readFileSync } from "node:fs";
import type { WebSocketHandler } from "bun";
import { AgentHub } from "../agent/hub.ts";
import { AgentStore } from "../agent/store.ts";
import { Alerts } from "../alerts/alerts.ts";
import { AuditLog } from "../audit/audit-log.ts";
import { LoginThrottle } from "../auth/login-throttle.ts";
import { Policy } from "../auth/policy.ts";
import { SessionStore } from "../auth/sessions.ts";
import { TeamStore } from "../auth/teams.ts";
import { TokenStore } from "../auth/tokens.ts";
import { UserStore } from "../auth/users.ts";
import { readCertDir } from "../engine/url.ts";
import { Environments } from "../envs/environments.ts";
import { DeployHistory } from "../history/deploy-history.ts";
import type { RouteInfo } from "../http/route-table.ts";
import { Jobs } from "../jobs/jobs.ts";
import { RegistryStore } from "../registries/store.ts";
import { SecretKeyError } from "../secrets/key-file.ts";
import { openVault, type SecretVault } from "../secrets/vault.ts";
import { SettingsStore } from "../settings/settings-store.ts";
import { chooseStatsSource } from "../stats/choose-source.ts";
import type { SourceChooser } from "../stats/collector.ts";
import { StatsCollectors } from "../stats/collectors.ts";
import { DatabaseError, openDatabase } from "../store/database.ts";
import { writeHealth } from "../store/write-health.ts";
import { TopicBus } from "../stream/bus.ts";
import { autoTls, type TlsFiles } from "../tls/certificate.ts";
import type { ReloadableTlsServer } from "../tls/reload.ts";
import { UpdateChecker } from "../updates/checker.ts";
import { stopArchiveThread } from "../volumes/archive-thread.ts";
import { keepCollectingAfterBursts } from "./collect-after-bursts.ts";
import { ConfigError, type ServeConfig } from "./config.ts";
import type { PanelDeps } from "./deps.ts";
import { keepHandingBackPages } from "./hand-back-pages.ts";
import { serveHttpsRedirect } from "./https-redirect.ts";
import { type Listener, openListener } from "./listen.ts";
import { turn } from "./turn.ts";

export interface RunningPanel {
  url: string;
  /** every API route and the action it needs (for the access-matrix test) */
  routes: readonly RouteInfo[];
  port: number;
  tls: TlsFiles | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the panel. The listener comes first (src/server/listen.ts: /healthz answers from the first
 * ms on), then everything else, in steps between which the event loop turns so that the early
 * answers are not held up by the whole start; `listener` is one main.ts opened before loading this
 * module at all.
 */
export async function startPanel(
  config: ServeConfig,
  version: string,
  log: (line: string) => void = console.log,
  listener?: Listener,
): Promise<RunningPanel> {
  const main = listener ?? (await openListener(config, version));
  try {
    return await startBehind(main, config, version, log);
  } catch (err) {
    await main.abandon();
    throw err;
  }
}

async function startBehind(
  listener: Listener,
  config: ServeConfig,
  version: string,
  log: (line: string) => void,
): Promise<RunningPanel> {
  await turn();
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(config.dataDir, log);
  } catch (err) {
    throw err instanceof DatabaseError ? new ConfigError(err.message) : err;
  }
  const storage = writeHealth(db);
  storage.log = log;
  let vault: SecretVault;
  try {
    vault = openVault(db, config.dataDir);
  } catch (err) {
    db.close();
    // A refused or mismatched key file is the operator's to fix: one line (main.ts), no stack.
    throw err instanceof SecretKeyError ? new ConfigError(err.message) : err;
  }
  await turn();
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

  // The resources' modules (routes, topics, list kinds) load only now: the early answers need none.
  const { LIST_KINDS, TOPIC_MODULES } = await import("./modules.ts");
  await turn();
  const agents = new AgentHub(new AgentStore(db), log, config.statsIntervalMs);
  const envs = new Environments(db, vault, agents.engineFor, undefined, LIST_KINDS);
  const bus = new TopicBus(policy);
  const jobs = new Jobs();
  const registries = new RegistryStore(db, vault);
  const updates = new UpdateChecker(envs, registries, settings);
  envs.onEnv((event) => {
    if (event.kind === "removed") jobs.forget(event.id);
  });
  // An agent's figures come from the agent (src/agent/stats-receiver.ts), any other engine's from here.
  const chooseSource: SourceChooser = (env, probe) =>
    agents.statsSource(env.url) ?? chooseStatsSource(env, probe);
  const collectors = new StatsCollectors(envs, db, chooseSource, config.statsIntervalMs, [
    "/",
    config.dataDir,
  ]);
  // Before the engines open, so that they see every container from the first snapshot on.
  const deployments = new DeployHistory(db, envs);
  const alerts = new Alerts(db, vault, envs, collectors);
  const tlsServer: ReloadableTlsServer | undefined = listener.tlsServer;
  const tls: TlsFiles | undefined = listener.tls;
  const deps: PanelDeps = {
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
    jobs,
    registries,
    updates,
    audit,
    writeHealth: storage,
    version,
    secureCookies: tls !== undefined,
    anonymousLimit: config.anonymousLimit,
    tlsFingerprint: () => tlsServer?.files.fingerprint ?? null,
    deployments,
    alerts,
    agents,
  };
  // Before any engine is opened, so that no topic misses its first events.
  for (const register of TOPIC_MODULES) register(bus, deps);
  updates.start();
  reportEngineStatus(envs, log);
  // Before any engine is opened too: the first sync of an engine with many containers is a burst.
  const stopCollecting = keepCollectingAfterBursts((listener) => envs.onContainers(listener));
  // What a start that fails half-way lets go of, before saying why.
  const release = () => {
    stopCollecting();
    void agents.stop();
    alerts.stop();
    deployments.stop();
    updates.stop();
    collectors.close();
    envs.stop();
    storage.close();
    db.close();
  };
  try {
    envs.start(config.engineUrl, config.engineCertDir ? readCertDir(config.engineCertDir) : undefined);
    if (config.agentListen) {
      // Agents pin a certificate: the panel's own, or (with --tls off) one made for them alone.
      const { host, port } = config.agentListen;
      const bound = await agents.listen(envs, host, port, tls ?? (await autoTls(config.dataDir)));
      log(`Edge agents: QUIC on ${host}:${bound} (UDP)`);
    }
  } catch (err) {
    release();
    throw new ConfigError((err as Error).message);
  }
  await turn();

  const { createApp } = await import("./app.ts");
  const { app, routes } = createApp(deps);
  const { websocket } = await import("hono/bun");
  listener.attach(app.fetch, websocket as WebSocketHandler<unknown>);
  const shownHost = ["0.0.0.0", "::", ""].includes(config.host) ? "localhost" : config.host;
  const shownName = shownHost.includes(":") ? `[${shownHost}]` : shownHost;
  let redirect: ReturnType<typeof Bun.serve> | undefined;
  let vesla: ReturnType<typeof Bun.serve> | undefined;
  let listening = "";
  try {
    if (config.listenHttp) {
      listening = `${config.listenHttp.host}:${config.listenHttp.port}`;
      redirect = serveHttpsRedirect(config.listenHttp.host, config.listenHttp.port, listener.port, shownName);
    }
    if (config.veslaListen) {
      listening = `${config.veslaListen.host}:${config.veslaListen.port}`;
      const { serveVesla } = await import("../vesla/listener.ts");
      vesla = serveVesla(deps, config.veslaListen);
    }
  } catch (err) {
    await redirect?.stop(true);
    release();
    const { code, message } = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `cannot listen on ${listening}: ${code === "EADDRINUSE" ? "something listens there already" : message}`,
    );
  }
  audit.startRetention();
  const port = listener.port;
  const scheme = tls ? "https" : "http";
  const url = `${scheme}://${shownName}:${port}`;
  log(`GhostPanel ${version} listening on ${scheme}://${config.host}:${port} — open ${url}`);
  if (redirect) log(`Plain HTTP on ${config.listenHttp?.host}:${redirect.port} redirects to HTTPS.`);
  if (vesla) log(`Vesla Console API on http://${config.veslaListen?.host}:${vesla.port}`);
  if (config.http3) log(`HTTP/3: QUIC on ${config.host}:${port} (UDP), announced with Alt-Svc`);
  if (tls) log(`TLS certificate ${tls.certPath}\n  SHA-256 fingerprint ${tls.fingerprint}`);
  if (users.count() === 0) log(`First run: open ${url} to create the admin account (or POST /api/v1/setup).`);
  log(`Data directory: ${config.dataDir}`);

  const reloadTls = tlsServer && certificateReloader(tlsServer, log);
  if (reloadTls) process.on("SIGHUP", reloadTls);
  // Kept only by the bench, to measure what handing them back is worth in the same run.
  const stopHandingBack = process.env.GHOSTPANEL_KEEP_PAGES === "1" ? () => {} : keepHandingBackPages();

  return {
    url,
    routes,
    port,
    get tls() {
      return tlsServer?.files;
    },
    async stop() {
      if (reloadTls) process.off("SIGHUP", reloadTls);
      stopHandingBack();
      stopCollecting();
      alerts.stop();
      deployments.stop();
      updates.stop();
      collectors.close();
      envs.stop();
      audit.stop();
      await agents.stop();
      await Promise.all([listener.stop(), redirect?.stop(true), vesla?.stop(true), stopArchiveThread()]);
      storage.close();
      db.close();
    },
  };
}

/**
 * SIGHUP is how servers are told that their files changed (certbot's deploy hooks send it, as
 * they do to nginx): the certificate and key are read again, and refused in words if unusable.
 */
function certificateReloader(server: ReloadableTlsServer, log: (line: string) => void): () => void {
  return () => {
    try {
      const { changed, files } = server.reload();
      log(
        changed
          ? `TLS certificate reloaded from ${files.certPath}\n  SHA-256 fingerprint ${files.fingerprint}`
          : `TLS certificate unchanged (SHA-256 fingerprint ${files.fingerprint}).`,
      );
    } catch (err) {
      log(
        `TLS certificate not reloaded: ${(err as Error).message}. ` +
          `Still serving SHA-256 fingerprint ${server.files.fingerprint}.`,
      );
    }
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
  envs.onEnv((change) => {
    if (change.kind !== "status" || change.status === "connecting" || last.get(change.id) === change.status)
      return;
    const { id } = change;
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
