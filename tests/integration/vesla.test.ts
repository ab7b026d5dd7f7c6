import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  PREFIX,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
} from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import { freeLoopbackPort } from "../helpers/ports.ts";
import { StreamClient } from "../helpers/stream.ts";
import { VeslaClient, VeslaError } from "../helpers/vesla-client.ts";

/**
 * The Vesla Console's API answered by the built binary, for apps deployed the way Vesla's deployer
 * deploys them (its labels, its network, its restart policy, the container named after the app),
 * queried by a client written against the seed's shapes, as an admin and as two app owners.
 */

const NETWORK = `${PREFIX}vesla-network`;
const SHOP = `${PREFIX}shop`;
const BLOG = `${PREFIX}blog`;
// An app whose name contains a system name: the seed listed it twice.
const PROXY_APP = `${PREFIX}traefik-demo`;
// System containers, not apps: one of them with "vesla-" in its name (the seed took those for apps).
const TRAEFIK = `${PREFIX}traefik`;
const VESLA_API = `${PREFIX}vesla-api`;
const COMMITTED = `${PREFIX}img:v2`.toLowerCase();

/** `docker run` as Vesla's deployer does it (server/deployer.py): labels, network, limits, restart policy. */
function deploy(
  app: string,
  image = TEST_IMAGE,
  command = ["sh", "-c", `echo hello from ${app}; exec sleep 3600`],
): string {
  return docker(
    "run",
    "-d",
    "--name",
    app,
    "--network",
    NETWORK,
    "--restart",
    "unless-stopped",
    "--memory",
    "512m",
    "--cpus",
    "0.5",
    "--label",
    RUN_LABEL,
    "--label",
    "traefik.enable=true",
    "--label",
    `traefik.http.routers.${app}.rule=Host(\`${app}.example.test\`)`,
    "--label",
    `traefik.http.services.${app}.loadbalancer.server.port=5000`,
    "--label",
    "vesla.managed=true",
    "--label",
    `vesla.app=${app}`,
    "--label",
    `vesla.domain=${app}.example.test`,
    "-e",
    "PORT=5000",
    "--expose",
    "5000",
    image,
    ...command,
  );
}

const startedAt = (name: string) => docker("inspect", "-f", "{{.State.StartedAt}}", name);

describe("Vesla Console API, app owners, deployment history (built binary)", () => {
  let panel: BinaryPanel;
  let panelArgs: string[];
  const dataDir = mkdtempSync(join(tmpdir(), "gptest-vesla-"));
  let veslaUrl: string;
  let adminToken: string;
  const owner = { shop: "", blog: "" };
  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(panel.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };

  /** Until the panel's mirror of the engine holds this app (the first sync of a busy engine takes a while). */
  const mirrored = (app: string) =>
    eventually(
      async () => {
        const res = await api(adminToken, "GET", "/api/apps");
        return res.body.apps?.some((a: { name: string }) => a.name === app) ? true : undefined;
      },
      60_000,
      `${app} in the panel's mirror`,
    );

  beforeAll(async () => {
    docker("network", "create", "--label", RUN_LABEL, NETWORK);
    deploy(SHOP);
    deploy(BLOG);
    deploy(PROXY_APP);
    runContainer(TRAEFIK);
    runContainer(VESLA_API);
    const port = await freeLoopbackPort();
    veslaUrl = `http://127.0.0.1:${port}`;
    panelArgs = ["--tls", "off", "--vesla-listen", `127.0.0.1:${port}`];
    panel = await startBinary(panelArgs, { dataDir });
    adminToken = await tokenFor(panel.url, ADMIN, "vesla-admin", "setup");
    await mirrored(PROXY_APP);
    for (const app of ["shop", "blog"] as const) {
      const user = await api(adminToken, "POST", "/api/v1/users", {
        username: `owner-${app}`,
        password: "owner-password",
        role: "operator",
      });
      expect(user.status).toBe(201);
      const team = await api(adminToken, "POST", "/api/v1/teams", { name: `team-${app}` });
      const appName = app === "shop" ? SHOP : BLOG;
      const set = await api(adminToken, "PUT", `/api/v1/teams/${team.body.id}`, {
        members: [user.body.id],
        resources: [{ env: "local", kind: "app", ref: appName }],
      });
      expect(set.status).toBe(200);
      expect(set.body.resources).toEqual([{ env: "local", kind: "app", ref: appName }]);
      owner[app] = await tokenFor(
        panel.url,
        { username: `owner-${app}`, password: "owner-password" },
        "vesla",
      );
    }
  }, 180_000);

  afterAll(async () => {
    await panel?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    cleanupEngine();
    Bun.spawnSync(["docker", "network", "rm", NETWORK]);
    Bun.spawnSync(["docker", "rmi", COMMITTED]);
  });

  it("answers the seed's shapes on the --vesla-listen address; each container in one list at most", async () => {
    const admin = new VeslaClient(veslaUrl, adminToken);
    expect(await admin.health()).toEqual({
      status: "healthy",
      service: "vesla-console",
      docker_connected: true,
    });
    const listed = await admin.apps();
    const mine = (list: { name: string }[]) =>
      list
        .map((a) => a.name)
        .filter((n) => n.startsWith(PREFIX))
        .sort();
    expect(mine(listed.apps)).toEqual([BLOG, SHOP, PROXY_APP].sort());
    expect(mine(listed.system)).toEqual([TRAEFIK, VESLA_API].sort());
    const names = [...listed.apps, ...listed.system].map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    expect(listed.total).toBe(listed.apps.length + listed.system.length);

    const shop = listed.apps.find((a) => a.name === SHOP)!;
    const inspect = JSON.parse(docker("inspect", SHOP))[0];
    expect(shop.id).toBe(inspect.Id.slice(0, 12));
    expect(shop.status).toBe("running");
    expect(shop.is_running).toBe(true);
    expect(shop.image).toBe(TEST_IMAGE);
    expect(shop.started).toBe(inspect.State.StartedAt);
    expect(Date.parse(shop.created)).toBe(Math.floor(Date.parse(inspect.Created) / 1000) * 1000);
    expect(shop.ports).toEqual({ "5000/tcp": null });
    expect(shop.labels["vesla.app"]).toBe(SHOP);
    expect(shop.labels["vesla.domain"]).toBe(`${SHOP}.example.test`);

    // The same answers on the panel's own address.
    expect(mine((await new VeslaClient(panel.url, adminToken).apps()).apps)).toEqual(mine(listed.apps));
  });

  it("requires a login or a token on both addresses, and serves nothing else of the panel on the Vesla one", async () => {
    for (const base of [veslaUrl, panel.url]) {
      const anonymous = new VeslaClient(base);
      const err = await anonymous.apps().catch((e) => e);
      expect(err).toBeInstanceOf(VeslaError);
      expect(err.status).toBe(401);
      expect(typeof err.body.error).toBe("string");
      expect((await anonymous.health()).status).toBe("healthy");
      const wrong = await new VeslaClient(base, "not-a-token").logs(SHOP).catch((e) => e);
      expect(wrong.status).toBe(401);
    }
    const other = await fetch(`${veslaUrl}/api/v1/envs`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(other.status).toBe(404);
    expect((await fetch(`${veslaUrl}/`)).status).toBe(404);
  });

  it("logs (text with timestamps), stats, and actions the engine carried out", async () => {
    const admin = new VeslaClient(veslaUrl, adminToken);
    const logs = await eventually(async () => {
      const l = await admin.logs(SHOP, 10);
      return l.logs.includes(`hello from ${SHOP}`) ? l : undefined;
    });
    expect(logs.container).toBe(SHOP);
    expect(logs.lines).toBe(1);
    expect(logs.logs).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z hello from /);

    const stats = await admin.stats(SHOP);
    if (!("cpu_percent" in stats)) throw new Error(`no figures: ${JSON.stringify(stats)}`);
    expect(stats.memory_limit).toBe(512 * 1024 * 1024);
    expect(stats.memory_usage).toBeGreaterThan(0);
    expect(stats.memory_percent).toBeCloseTo((stats.memory_usage / stats.memory_limit) * 100, 1);
    expect(stats.pids).toBeGreaterThanOrEqual(1);

    expect(await admin.action(BLOG, "stop")).toEqual({ status: "success", message: `Stopped ${BLOG}` });
    expect(docker("inspect", "-f", "{{.State.Status}}", BLOG)).toBe("exited");
    expect(await admin.stats(BLOG)).toEqual({ container: BLOG, status: "exited", stats: null });
    expect((await admin.action(BLOG, "start")).message).toBe(`Started ${BLOG}`);
    expect(docker("inspect", "-f", "{{.State.Status}}", BLOG)).toBe("running");
    const bad = await admin.action(BLOG, "explode").catch((e) => e);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("Unknown action: explode");
    const missing = await admin.logs(`${PREFIX}nothing`).catch((e) => e);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe(`Container '${PREFIX}nothing' not found`);
  }, 60_000);

  it("shows an app owner only its app, and refuses it another owner's app as missing", async () => {
    const shopOwner = new VeslaClient(veslaUrl, owner.shop);
    const list = await shopOwner.apps();
    expect(list.apps.map((a) => a.name)).toEqual([SHOP]);
    expect(list.system).toEqual([]);
    expect(list.total).toBe(1);
    expect((await shopOwner.logs(SHOP)).logs).toContain(`hello from ${SHOP}`);

    const before = startedAt(BLOG);
    for (const attempt of [
      () => shopOwner.logs(BLOG),
      () => shopOwner.stats(BLOG),
      () => shopOwner.action(BLOG, "restart"),
      () => shopOwner.action(BLOG, "stop"),
    ]) {
      const err = await attempt().catch((e) => e);
      expect(err).toBeInstanceOf(VeslaError);
      expect(err.status).toBe(404);
      expect(err.body.error).toBe(`Container '${BLOG}' not found`);
    }
    // Nothing happened to it at the engine.
    expect(startedAt(BLOG)).toBe(before);
    expect(docker("inspect", "-f", "{{.State.Status}}", BLOG)).toBe("running");
    // Nor through the panel's own routes and stream.
    expect((await api(owner.shop, "POST", `/api/v1/envs/local/containers/${BLOG}/restart`)).status).toBe(404);
    const names = (await api(owner.shop, "GET", "/api/v1/envs/local/containers")).body.map(
      (c: any) => c.name,
    );
    expect(names).toEqual([SHOP]);
    const client = new StreamClient(panel.url, owner.shop, ["containers:local", `logs:local:${BLOG}`]);
    try {
      const snapshot = await client.next((f) => f.t === "containers:local" && f.k === "snapshot");
      expect(snapshot.d.map((c: { name: string }) => c.name)).toEqual([SHOP]);
      expect((await client.next((f) => f.t === `logs:local:${BLOG}`)).k).toBe("error");
    } finally {
      client.close();
    }

    // Its own app it restarts: the engine says it started again.
    const own = startedAt(SHOP);
    expect((await shopOwner.action(SHOP, "restart")).message).toBe(`Restarted ${SHOP}`);
    expect(startedAt(SHOP)).not.toBe(own);
  }, 60_000);

  it("refuses an owner a container labelled as another owner's app, and lets it redeploy its own", async () => {
    const labels = (app: string) => ({
      "vesla.managed": "true",
      "vesla.app": app,
      [RUN_LABEL.split("=")[0]!]: RUN_LABEL.split("=")[1]!,
    });
    const intruder = `${PREFIX}intruder`;
    const refused = await api(owner.shop, "POST", "/api/v1/envs/local/containers", {
      name: intruder,
      Image: TEST_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: labels(BLOG),
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain(`the app "${BLOG}" is not one of your teams'`);
    expect(Bun.spawnSync(["docker", "inspect", intruder]).exitCode).not.toBe(0);
    // Its own app's label it may set: the new container is its team's, and the blog's owner sees nothing of it.
    const made = await api(owner.shop, "POST", "/api/v1/envs/local/containers", {
      name: `${PREFIX}shop-worker`,
      Image: TEST_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: labels(SHOP),
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(docker("inspect", "-f", '{{index .Config.Labels "vesla.app"}}', made.body.id)).toBe(SHOP);
    const blogNames = (await api(owner.blog, "GET", "/api/v1/envs/local/containers")).body.map(
      (c: any) => c.name,
    );
    expect(blogNames).not.toContain(`${PREFIX}shop-worker`);
    docker("rm", "-f", made.body.id);
  }, 30_000);

  it("records a redeploy made outside the panel (destroy and create under the same name, a new image)", async () => {
    const oldId = docker("inspect", "-f", "{{.Image}}", BLOG);
    const oldContainer = docker("inspect", "-f", "{{.Id}}", BLOG);
    docker("commit", BLOG, COMMITTED);
    const newId = docker("inspect", "-f", "{{.Id}}", COMMITTED);
    // What Vesla's deployer does on `vesla push`: stop and remove, then run anew with the same name.
    docker("rm", "-f", BLOG);
    const newContainer = deploy(BLOG, COMMITTED);
    const entries = await eventually(async () => {
      const r = await api(adminToken, "GET", `/api/v1/envs/local/deployments?app=${BLOG}`);
      return r.body.length ? r.body : undefined;
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      env: "local",
      name: BLOG,
      app: BLOG,
      container_id: newContainer,
      old_container_id: oldContainer,
      old_image: TEST_IMAGE,
      old_image_id: oldId,
      new_image: COMMITTED,
      new_image_id: newId,
      user_id: null,
      username: "",
    });
    // The blog's owner reads its timeline; the shop's owner learns nothing of it.
    expect((await api(owner.blog, "GET", `/api/v1/envs/local/deployments?name=${BLOG}`)).body).toHaveLength(
      1,
    );
    expect((await api(owner.shop, "GET", `/api/v1/envs/local/deployments?app=${BLOG}`)).body).toEqual([]);
  }, 60_000);

  it("records who redeployed through the panel", async () => {
    const removed = await api(adminToken, "DELETE", `/api/v1/envs/local/containers/${SHOP}?force=true`);
    expect(removed.status).toBe(204);
    const created = await api(adminToken, "POST", "/api/v1/envs/local/containers", {
      name: SHOP,
      Image: COMMITTED,
      Cmd: ["sleep", "3600"],
      Labels: {
        "vesla.managed": "true",
        "vesla.app": SHOP,
        [RUN_LABEL.split("=")[0]!]: RUN_LABEL.split("=")[1]!,
      },
    });
    expect(created.status).toBe(201);
    const entry = await eventually(async () => {
      const r = await api(adminToken, "GET", `/api/v1/envs/local/deployments?name=${SHOP}`);
      return r.body[0]?.username ? r.body[0] : undefined;
    });
    expect(entry).toMatchObject({
      name: SHOP,
      app: SHOP,
      new_image: COMMITTED,
      old_image: TEST_IMAGE,
      username: "admin",
    });
    expect(entry.container_id).toBe(created.body.id);
  }, 30_000);

  it("sees a redeploy made while the panel was not running", async () => {
    const oldContainer = docker("inspect", "-f", "{{.Id}}", PROXY_APP);
    await panel.stop();
    docker("rm", "-f", PROXY_APP);
    const newContainer = deploy(PROXY_APP, COMMITTED);
    panel = await startBinary(panelArgs, { dataDir });
    await mirrored(PROXY_APP);
    const entries = await eventually(async () => {
      const r = await api(adminToken, "GET", `/api/v1/envs/local/deployments?app=${PROXY_APP}`);
      return r.body.length ? r.body : undefined;
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      old_container_id: oldContainer,
      container_id: newContainer,
      old_image: TEST_IMAGE,
      new_image: COMMITTED,
    });
    // And the Vesla listener is back with it.
    expect((await new VeslaClient(veslaUrl, adminToken).apps()).apps.map((a) => a.name)).toContain(PROXY_APP);
  }, 60_000);

  it("refuses a --vesla-listen address off loopback", async () => {
    const err = await startBinary(["--tls", "off", "--vesla-listen", "0.0.0.0:5003"]).catch((e) => e);
    expect(String(err)).toContain("loopback only");
  });
});
