/**
 * The container image, installed the way Portainer users install theirs: scripts/docker-context.sh +
 * the Dockerfile (FROM scratch, no registry), run with the engine socket mounted and a data volume,
 * HTTPS with the self-signed certificate, port published on loopback only.
 *
 * Needs dist/ghostpanel (`npm run build`; `npm test` builds it first). GHOSTPANEL_TEST_BINARY points
 * at another executable for this machine.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  docker,
  eventually,
  PREFIX,
  RUN_ID,
  RUN_LABEL,
  runContainer,
  uniqueName,
} from "../helpers/engine.ts";
import { freeLoopbackPort } from "../helpers/ports.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const BINARY = process.env.GHOSTPANEL_TEST_BINARY ?? join(ROOT, "dist", "ghostpanel");
const SOCKET = process.env.GHOSTPANEL_TEST_SOCKET ?? "/var/run/docker.sock";
const TAG = `ghostpanel-test/panel:${RUN_ID}`;
const VOLUME = `${PREFIX}data`;
const NETWORK = `${PREFIX}net`;
const ADMIN = { username: "admin", password: "correct-horse-battery" };
const INSECURE = { tls: { rejectUnauthorized: false } };

let contextDir = "";
let panelName = "";
let panelId = "";
let busyboxId = "";
let base = "";
let cookie = "";
let imageBuilt = false;
let volumeCreated = false;
let networkCreated = false;

/**
 * Starts the panel container, published on 127.0.0.1 only. On a network of its own: this shared
 * engine's default docker0 bridge has been seen vanishing, a user-defined bridge does not depend on it.
 */
function startPanel(port: number): string {
  const common = ["run", "-d", "--name", panelName, "--label", RUN_LABEL];
  const mounts = ["-v", `${SOCKET}:/var/run/docker.sock`, "-v", `${VOLUME}:/data`];
  try {
    return docker(...common, "--network", NETWORK, "-p", `127.0.0.1:${port}:9443`, ...mounts, TAG);
  } catch (err) {
    // No bridge at all: the host's network, the panel itself listening on loopback only.
    if (!/bridge|endpoint|veth/.test(String(err))) throw err;
    docker("rm", "-f", "-v", panelName);
    console.warn(
      `docker-image test: no bridge networking (${err}); host network, panel on 127.0.0.1:${port}`,
    );
    const listen = ["-e", `GHOSTPANEL_LISTEN=127.0.0.1:${port}`];
    return docker(...common, "--network", "host", ...listen, ...mounts, TAG);
  }
}

async function healthyEngine(): Promise<{ version: string }> {
  return eventually(
    async () => {
      const res = await fetch(`${base}/healthz`, INSECURE);
      const body = (await res.json()) as { version: string; engines: { id: string; status: string }[] };
      return body.engines.some((e) => e.id === "local" && e.status === "up") ? body : undefined;
    },
    30_000,
    "the panel in the container to report its engine up",
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- docker logs ${panelName}:\n${logs()}`);
  });
}

function logs(): string {
  const res = Bun.spawnSync(["docker", "logs", panelName], { stdout: "pipe", stderr: "pipe" });
  return res.stdout.toString() + res.stderr.toString();
}

describe("docker image", () => {
  beforeAll(async () => {
    if (!existsSync(BINARY)) {
      throw new Error(`${BINARY} is missing: run \`npm run build\` first (npm test does it).`);
    }
    // A private context per run: concurrent runs never share dist/image/.
    contextDir = mkdtempSync(join(tmpdir(), "gptest-image-"));
    const assemble = Bun.spawnSync(["bash", join(ROOT, "scripts", "docker-context.sh"), BINARY], {
      cwd: ROOT,
      env: { ...process.env, GHOSTPANEL_IMAGE_ROOT: join(contextDir, "dist", "image") },
      stdout: "pipe",
      stderr: "pipe",
    });
    if (assemble.exitCode !== 0) {
      throw new Error(`scripts/docker-context.sh failed:\n${assemble.stdout}${assemble.stderr}`);
    }
    copyFileSync(join(ROOT, "Dockerfile"), join(contextDir, "Dockerfile"));
    docker("build", "--force-rm", "--label", RUN_LABEL, "-t", TAG, contextDir);
    imageBuilt = true;

    busyboxId = runContainer(uniqueName("busybox"), ["sleep", "600"], ["--network", "none"]);
    docker("volume", "create", "--label", RUN_LABEL, VOLUME);
    volumeCreated = true;
    docker("network", "create", "--label", RUN_LABEL, NETWORK);
    networkCreated = true;
    panelName = uniqueName("panel");
    const port = await freeLoopbackPort();
    base = `https://127.0.0.1:${port}`;
    panelId = startPanel(port);
    await healthyEngine();
  }, 180_000);

  afterAll(() => {
    const steps = [
      () => cleanupEngine(), // the panel and busybox containers (RUN_LABEL), with their anonymous volumes
      () => volumeCreated && docker("volume", "rm", "-f", VOLUME),
      () => networkCreated && docker("network", "rm", NETWORK),
      () => imageBuilt && docker("rmi", "-f", TAG),
      () => contextDir && rmSync(contextDir, { recursive: true, force: true }),
    ];
    const errors: string[] = [];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        errors.push(String(err));
      }
    }
    if (errors.length) throw new Error(`cleanup failed:\n${errors.join("\n")}`);
  });

  it("is a scratch image that runs `ghostpanel serve` on 0.0.0.0:9443 with TLS and /data", () => {
    const config = JSON.parse(docker("image", "inspect", "-f", "{{json .Config}}", TAG));
    expect(config.Entrypoint).toEqual(["/usr/local/bin/ghostpanel"]);
    expect(config.Cmd).toEqual(["serve"]);
    expect(config.Env).toEqual(
      expect.arrayContaining([
        "GHOSTPANEL_DATA=/data",
        "GHOSTPANEL_LISTEN=0.0.0.0:9443",
        "GHOSTPANEL_TLS=auto",
      ]),
    );
    expect(Object.keys(config.Volumes ?? {})).toEqual(["/data"]);
    // One layer: the executable, its glibc files and a few /etc files.
    const layers = JSON.parse(docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", TAG));
    expect(layers).toHaveLength(1);
  });

  it("answers /healthz over HTTPS with its self-signed certificate and the engine up", async () => {
    const res = await fetch(`${base}/healthz`, INSECURE);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; version: string };
    expect(body).toMatchObject({ status: "ok", version: VERSION });
    expect(logs()).toMatch(/SHA-256 fingerprint [0-9A-F:]{95}/);
    expect(logs()).toContain("Data directory: /data");
  });

  it("serves the embedded UI, precompressed", async () => {
    const res = await fetch(`${base}/`, { ...INSECURE, headers: { "accept-encoding": "br" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-encoding")).toBe("br");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text(); // fetch decodes the brotli body
    expect(html.toLowerCase()).toContain("<!doctype html>");
    // Every script and stylesheet it names is served too, cacheable for good.
    const refs = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const asset = await fetch(`${base}${ref}`, { ...INSECURE, headers: { "accept-encoding": "gzip" } });
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get("content-encoding"), ref).toBe("gzip");
      expect(asset.headers.get("cache-control"), ref).toContain("immutable");
    }
  });

  it("creates the first admin with POST /api/v1/setup", async () => {
    const res = await fetch(`${base}/api/v1/setup`, {
      ...INSECURE,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    expect(res.status).toBe(201);
    cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toContain("=");
  });

  it("lists the engine's containers through the mounted socket: ours and its own", async () => {
    const list = await eventually(
      async () => {
        const res = await fetch(`${base}/api/v1/envs/local/containers`, { ...INSECURE, headers: { cookie } });
        if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
        const items = (await res.json()) as { id: string; name: string; image: string; state: string }[];
        return items.some((c) => c.id === busyboxId) ? items : undefined;
      },
      10_000,
      "the busybox container in the panel's list",
    );
    expect(list.find((c) => c.id === busyboxId)).toMatchObject({ state: "running" });
    expect(list.find((c) => c.id === panelId)).toMatchObject({
      name: panelName,
      image: TAG,
      state: "running",
    });
  });

  it("keeps its admin and certificate in the volume across a restart", async () => {
    const fingerprint = /SHA-256 fingerprint (\S+)/.exec(logs())?.[1];
    docker("restart", "-t", "10", panelName);
    await healthyEngine();
    const again = await fetch(`${base}/api/v1/setup`, {
      ...INSECURE,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    expect(again.status).toBe(409);
    const fingerprints = [...logs().matchAll(/SHA-256 fingerprint (\S+)/g)].map((m) => m[1]);
    expect(fingerprints.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fingerprints)).toEqual(new Set([fingerprint]));
  });
});
