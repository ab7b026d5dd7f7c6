import { Database } from "bun:sqlite";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  eventually,
  PREFIX,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { makeTlsFiles, SecondEngine, type TlsFiles } from "../helpers/second-engine.ts";
import { StreamClient } from "../helpers/stream.ts";

interface EnvItem {
  id: string;
  name: string;
  kind: string;
  status: string;
  url: string;
  tls: boolean;
  error: string | null;
  facts: Record<string, unknown> | null;
}
interface ContainerItem {
  id: string;
  name: string;
  state: string;
}

/** Runs every cleanup step even when one fails, then reports the first failure. */
async function cleanup(...steps: (() => unknown)[]): Promise<void> {
  const results = await Promise.allSettled(steps.map(async (s) => s()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

const envsOf = async (p: TestPanel) => (await p.api("GET", "/api/v1/envs")).body as EnvItem[];
const envOf = async (p: TestPanel, id: string) => (await envsOf(p)).find((e) => e.id === id);
const containersOf = async (p: TestPanel, env: string) => {
  const res = await p.api("GET", `/api/v1/envs/${env}/containers`);
  if (res.status !== 200) throw new Error(`containers of ${env}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as ContainerItem[];
};
const whenStatus = (p: TestPanel, id: string, status: "up" | "down", timeoutMs = 20_000) =>
  eventually(
    async () => {
      const e = await envOf(p, id);
      return e?.status === status ? e : undefined;
    },
    timeoutMs,
    `environment ${id} ${status}`,
  );

const hostLinks = () =>
  Bun.spawnSync(["ip", "-o", "link", "show"], { stdout: "pipe" })
    .stdout.toString()
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0])
    .filter((n): n is string => !!n)
    .sort();

// A second, real dockerd (its own sockets, data, containerd) stands for a remote engine: on its unix
// socket it is added through the API; on its TLS port it is the engine of panels started with
// --engine tcp://… --engine-cert-dir.
describe("environments: more engines than the local one", () => {
  let edge: SecondEngine | undefined;
  let certDir: string;
  let certs: TlsFiles;
  let p: TestPanel | undefined;
  let linksBefore: string[];

  beforeAll(async () => {
    linksBefore = hostLinks();
    certDir = mkdtempSync(join(tmpdir(), "gptest-certs-"));
    certs = makeTlsFiles(certDir);
    edge = await SecondEngine.start({ tcp: true, tls: certs.server });
    edge.loadImage();
    p = await startTestPanel();
    await whenStatus(p, "local", "up");
  });
  afterAll(async () => {
    await cleanup(
      () => p?.stop(),
      () => edge?.stop(),
      () => rmSync(certDir, { recursive: true, force: true }),
      () => cleanupEngine(),
    );
  });

  const runOnEdge = (name: string, command = ["sleep", "3600"]) =>
    edge!.docker("run", "-d", "--name", name, "--label", RUN_LABEL, TEST_IMAGE, ...command);

  it("runs the second engine without touching the host's network (docker0 stays)", () => {
    const after = hostLinks().filter((l) => !l.startsWith("veth"));
    expect(after).toEqual(linksBefore.filter((l) => !l.startsWith("veth")));
  });

  it("adds an engine by URL, and lists it beside local, both up", async () => {
    const res = await p!.api("POST", "/api/v1/envs", { name: "edge1", url: edge!.url });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: "edge1", name: "edge1", url: edge!.url, tls: false });
    expect(["connecting", "up"]).toContain(res.body.status);
    const up = await whenStatus(p!, "edge1", "up");
    expect(up).toMatchObject({ kind: "docker", error: null });
    expect(up.facts).toMatchObject({ kind: "docker", os: expect.any(String) });
    const all = await envsOf(p!);
    expect(all.map((e) => [e.id, e.status])).toEqual([
      ["local", "up"],
      ["edge1", "up"],
    ]);
    expect((await p!.api("GET", "/api/v1/envs/edge1")).body).toMatchObject({ id: "edge1", status: "up" });
  });

  it("keeps each engine's containers apart, and acts on the added engine's", async () => {
    const onEdge = uniqueName("edge");
    const edgeId = runOnEdge(onEdge);
    const onLocal = uniqueName("local");
    const localId = runContainer(onLocal);
    const item = await eventually(
      async () => (await containersOf(p!, "edge1")).find((c) => c.id === edgeId),
      10_000,
      "edge container listed",
    );
    expect(item).toMatchObject({ name: onEdge, state: "running" });
    await eventually(async () => (await containersOf(p!, "local")).find((c) => c.id === localId));
    expect((await containersOf(p!, "local")).map((c) => c.id)).not.toContain(edgeId);
    expect((await containersOf(p!, "edge1")).map((c) => c.id)).not.toContain(localId);

    const base = `/api/v1/envs/edge1/containers/${edgeId}`;
    expect((await p!.api("POST", `${base}/stop?t=1`)).status).toBe(204);
    expect(edge!.docker("inspect", "-f", "{{.State.Status}}", edgeId)).toBe("exited");
    expect((await containersOf(p!, "edge1")).find((c) => c.id === edgeId)?.state).toBe("exited");
    expect((await p!.api("POST", `${base}/start`)).status).toBe(204);
    expect(edge!.docker("inspect", "-f", "{{.State.Status}}", edgeId)).toBe("running");
    const inspect = await p!.api("GET", base);
    expect(inspect.status).toBe(200);
    expect(inspect.body.Id).toBe(edgeId);
    // The same id means nothing to the other engine.
    expect((await p!.api("POST", `/api/v1/envs/local/containers/${edgeId}/stop`)).status).toBe(404);
    expect((await p!.api("DELETE", `${base}?force=true`)).status).toBe(204);
    expect(edge!.docker("ps", "-aq", "--no-trunc")).not.toContain(edgeId);
  });

  it("streams the added engine's containers on containers:edge1, not on containers:local", async () => {
    const s = new StreamClient(p!.url, p!.token, ["containers:edge1", "containers:local"]);
    try {
      await s.open();
      await s.next((f) => f.t === "containers:edge1" && f.k === "snapshot");
      await s.next((f) => f.t === "containers:local" && f.k === "snapshot");
      const mark = s.frames.length;
      const name = uniqueName("edge-live");
      const id = runOnEdge(name);
      const up = await s.next(
        (f) => f.t === "containers:edge1" && f.k === "upsert" && f.d.id === id && f.d.state === "running",
        10_000,
        mark,
      );
      expect(up.d).toMatchObject({ name });
      edge!.docker("rm", "-f", id);
      await s.next((f) => f.t === "containers:edge1" && f.k === "remove" && f.d.id === id, 10_000, mark);
      expect(s.frames.slice(mark).filter((f) => f.t === "containers:local" && f.d?.id === id)).toEqual([]);
    } finally {
      s.close();
    }
  });

  it("answers bad input with a 4xx and a message", async () => {
    const cases: [string, string, unknown, number, string | null, RegExp][] = [
      ["POST", "/api/v1/envs", { name: "x1", url: "docker.sock" }, 400, "invalid_url", /not a URL/],
      ["POST", "/api/v1/envs", { name: "x2", url: "ftp://x" }, 400, "invalid_url", /scheme/],
      ["POST", "/api/v1/envs", { name: "x3", url: "unix://" }, 400, "invalid_url", /socket/],
      ["POST", "/api/v1/envs", { name: "x4" }, 400, null, /url/],
      ["POST", "/api/v1/envs", { name: "bad name", url: edge!.url }, 400, null, /name/],
      ["POST", "/api/v1/envs", { name: "edge1", url: edge!.url }, 409, "conflict", /edge1/],
      ["POST", "/api/v1/envs", { name: "EDGE1", url: edge!.url }, 409, "conflict", /EDGE1/],
      ["POST", "/api/v1/envs", { name: "local", url: edge!.url }, 409, "conflict", /local/],
      ["GET", "/api/v1/envs/nowhere", undefined, 404, "not_found", /nowhere/],
      ["GET", "/api/v1/envs/nowhere/containers", undefined, 404, "not_found", /nowhere/],
      ["DELETE", "/api/v1/envs/nowhere", undefined, 404, "not_found", /nowhere/],
      ["DELETE", "/api/v1/envs/local", undefined, 400, null, /local/],
    ];
    for (const [method, path, body, status, code, message] of cases) {
      const res = await p!.api(method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)}`;
      expect(res.status, what).toBe(status);
      if (code) expect(res.body.error.code, what).toBe(code);
      expect(res.body.error.message, what).toMatch(message);
    }
    expect((await envsOf(p!)).map((e) => e.id)).toEqual(["local", "edge1"]);
  });

  it("removes an added engine: 204, then it is gone from the list, the routes and the stream", async () => {
    const res = await p!.api("DELETE", "/api/v1/envs/edge1");
    expect(res.status).toBe(204);
    expect((await envsOf(p!)).map((e) => e.id)).toEqual(["local"]);
    expect((await p!.api("GET", "/api/v1/envs/edge1/containers")).status).toBe(404);
    expect((await p!.api("DELETE", "/api/v1/envs/edge1")).status).toBe(404);
    const s = new StreamClient(p!.url, p!.token, ["containers:edge1"]);
    try {
      await s.open();
      const err = await s.next((f) => f.k === "error");
      expect(err.d.code).toBe("not_found");
    } finally {
      s.close();
    }
    // The engine itself is untouched.
    expect(edge!.docker("version", "--format", "{{.Server.Version}}")).toBeTruthy();
  });

  it("keeps added engines across a panel restart on the same data directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gptest-data-"));
    let running: TestPanel | undefined;
    const restart = async () => {
      const before = running;
      running = undefined;
      await before?.stop();
      running = await startTestPanel([], true, { dataDir });
      return running;
    };
    try {
      const first = await restart();
      expect((await first.api("POST", "/api/v1/envs", { name: "Edge2", url: edge!.url })).status).toBe(201);
      await whenStatus(first, "edge2", "up");

      const name = uniqueName("restart");
      const id = runOnEdge(name);
      const second = await restart();
      const back = await whenStatus(second, "edge2", "up");
      expect(back).toMatchObject({ name: "Edge2", url: edge!.url, kind: "docker" });
      await eventually(async () => (await containersOf(second, "edge2")).find((c) => c.id === id));
      expect((await second.api("DELETE", "/api/v1/envs/edge2")).status).toBe(204);

      const third = await restart();
      expect((await envsOf(third)).map((e) => e.id)).toEqual(["local"]);
    } finally {
      await running?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe("over TCP with TLS (--tlsverify)", () => {
    it("reaches the engine with --engine-cert-dir and lists its containers", async () => {
      const name = uniqueName("tls");
      const id = runOnEdge(name);
      const t = await startTestPanel(["--engine", edge!.tcpUrl, "--engine-cert-dir", certs.clientDir]);
      try {
        const up = await whenStatus(t, "local", "up");
        expect(up).toMatchObject({ kind: "docker", url: edge!.tcpUrl, error: null });
        const item = await eventually(async () => (await containersOf(t, "local")).find((c) => c.id === id));
        expect(item).toMatchObject({ name, state: "running" });
        expect((await t.api("POST", `/api/v1/envs/local/containers/${id}/stop?t=0`)).status).toBe(204);
        expect(edge!.docker("inspect", "-f", "{{.State.Status}}", id)).toBe("exited");
      } finally {
        await t.stop();
      }
    });

    it("adds a TLS engine with its client certificate, never shows it, and opens it again after a restart", async () => {
      const pem = (name: string) => readFileSync(join(certs.clientDir, name), "utf8");
      const material = { ca: pem("ca.pem"), cert: pem("cert.pem"), key: pem("key.pem") };
      const keyLines = material.key.split("\n").filter((l) => l && !l.startsWith("-----"));
      const keyBase64 = keyLines.join("");
      // What must not be found: the PEM label, the key's base64 (whole and line by line) and its DER bytes.
      const needles = [
        Buffer.from("PRIVATE KEY"),
        Buffer.from(keyBase64),
        ...keyLines.map((l) => Buffer.from(l)),
        Buffer.from(keyBase64, "base64"),
      ];
      const dataDir = mkdtempSync(join(tmpdir(), "gptest-data-"));
      const dbFiles = () =>
        ["ghostpanel.db", "ghostpanel.db-wal"].map((f) => join(dataDir, f)).filter(existsSync);
      const inClear = () =>
        dbFiles().flatMap((f) => {
          const bytes = readFileSync(f);
          return needles.filter((n) => bytes.includes(n)).map((n) => `${f}: ${n.toString().slice(0, 20)}…`);
        });
      const secretOwners = () => {
        const db = new Database(join(dataDir, "ghostpanel.db"));
        try {
          return db.query("SELECT owner, length(sealed) AS n FROM secrets").all() as {
            owner: string;
            n: number;
          }[];
        } finally {
          db.close();
        }
      };
      let running: TestPanel | undefined;
      try {
        running = await startTestPanel([], true, { dataDir });
        const res = await running.api("POST", "/api/v1/envs", {
          name: "EdgeTls",
          url: edge!.tcpUrl,
          tls: material,
        });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ id: "edgetls", url: edge!.tcpUrl, tls: true });
        await whenStatus(running, "edgetls", "up");
        const name = uniqueName("sealed");
        const id = runOnEdge(name);
        await eventually(async () => (await containersOf(running!, "edgetls")).find((c) => c.id === id));

        const shown = [
          JSON.stringify(res.body),
          JSON.stringify(await envsOf(running)),
          JSON.stringify((await running.api("GET", "/api/v1/envs/edgetls")).body),
        ].join("\n");
        expect(shown).not.toContain("-----BEGIN");
        for (const line of keyLines) expect(shown).not.toContain(line);
        expect((await envsOf(running)).map((e) => [e.id, e.tls])).toEqual([
          ["local", false],
          ["edgetls", true],
        ]);

        // Restarted on the same data directory, the engine comes up again: the material was opened.
        await running.stop();
        running = await startTestPanel([], true, { dataDir });
        const back = await whenStatus(running, "edgetls", "up");
        expect(back).toMatchObject({ name: "EdgeTls", tls: true, kind: "docker" });
        await eventually(async () => (await containersOf(running!, "edgetls")).find((c) => c.id === id));

        // The material is in the database, sealed (a little longer than the PEM text), and in clear
        // neither there nor in the write-ahead log: now, while the panel runs, and after it stopped.
        const sealed = secretOwners();
        expect(sealed.map((r) => r.owner)).toEqual(["env:edgetls:tls"]);
        expect(sealed[0]!.n).toBeGreaterThan(material.cert.length + material.key.length);
        expect(dbFiles()).toContain(join(dataDir, "ghostpanel.db-wal"));
        expect(inClear()).toEqual([]);
        await running.stop();
        running = undefined;
        expect(inClear()).toEqual([]);

        // Removing the environment removes its sealed material too.
        running = await startTestPanel([], true, { dataDir });
        expect((await running.api("DELETE", "/api/v1/envs/edgetls")).status).toBe(204);
        expect(secretOwners()).toEqual([]);
      } finally {
        await running?.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("refuses TLS material that cannot work, with a 400 that says why", async () => {
      const pem = (name: string) => readFileSync(join(certs.clientDir, name), "utf8");
      const good = { ca: pem("ca.pem"), cert: pem("cert.pem"), key: pem("key.pem") };
      const ec = (cipher?: string) =>
        generateKeyPairSync("ec", {
          namedCurve: "P-256",
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: cipher
            ? { type: "pkcs8", format: "pem", cipher, passphrase: "secret" }
            : { type: "pkcs8", format: "pem" },
        }).privateKey;
      const garbled = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
      const url = edge!.tcpUrl;
      const echoed = [good.cert, good.key].map((p) => p.split("\n")[1]!);
      const cases: [string, unknown, RegExp][] = [
        [edge!.url, good, /tcp:\/\/ or https:\/\//],
        ["http://127.0.0.1:2375", good, /tcp:\/\/ or https:\/\//],
        [url, { ...good, cert: "hello" }, /tls\.cert: not PEM/],
        [url, { ...good, cert: garbled("CERTIFICATE") }, /tls\.cert: certificate 1 does not parse/],
        [url, { ...good, ca: garbled("CERTIFICATE") }, /tls\.ca: certificate 1 does not parse/],
        [url, { ...good, key: good.cert }, /tls\.key: not PEM/],
        [url, { ...good, key: garbled("PRIVATE KEY") }, /tls\.key: the private key does not parse/],
        [url, { ...good, key: ec() }, /does not belong to the certificate/],
        [url, { ...good, key: ec("aes-256-cbc") }, /encrypted/],
        [url, { cert: good.cert }, /key/],
      ];
      for (const [engineUrl, tls, message] of cases) {
        const res = await p!.api("POST", "/api/v1/envs", { name: "badtls", url: engineUrl, tls });
        const what = `${engineUrl} ${JSON.stringify(tls).slice(0, 80)}`;
        expect(res.status, what).toBe(400);
        expect(res.body.error.code, what).toMatch(/^invalid_(tls|request)$/);
        expect(res.body.error.message, what).toMatch(message);
        // Nothing given is echoed back.
        for (const line of echoed) expect(JSON.stringify(res.body), what).not.toContain(line);
      }
      expect((await envsOf(p!)).map((e) => e.id)).not.toContain("badtls");
    });

    it("reports the engine down with an error, without crashing, when it has no certificate", async () => {
      const t = await startTestPanel(["--engine", edge!.tcpUrl]);
      try {
        const down = await whenStatus(t, "local", "down");
        // dockerd's own answer to plain HTTP on its TLS port.
        expect(down.error).toMatch(/HTTPS/);
        expect((await t.api("GET", "/healthz")).status).toBe(200);
        expect((await t.api("GET", "/api/v1/envs/local/containers")).body).toEqual([]);
        // Still down a little later: it keeps retrying in the background, and keeps answering.
        await Bun.sleep(1_000);
        expect((await envOf(t, "local"))?.status).toBe("down");
      } finally {
        await t.stop();
      }
    });

    it("reports the engine down when its certificates come from another CA", async () => {
      const otherDir = mkdtempSync(join(tmpdir(), "gptest-certs-"));
      try {
        const other = makeTlsFiles(otherDir);
        const t = await startTestPanel(["--engine", edge!.tcpUrl, "--engine-cert-dir", other.clientDir]);
        try {
          const down = await whenStatus(t, "local", "down");
          expect(down.error).toMatch(/VERIFY|certificate/i);
        } finally {
          await t.stop();
        }
      } finally {
        rmSync(otherDir, { recursive: true, force: true });
      }
    });
  });
});

describe("environments: a plain tcp:// engine", () => {
  let proxy: EngineProxy | undefined;
  let p: TestPanel | undefined;

  beforeAll(async () => {
    proxy = new EngineProxy(`/tmp/${PREFIX}tcp.sock`, undefined, { tcp: true });
    await proxy.start();
    p = await startTestPanel(["--engine", proxy.tcpUrl]);
  });
  afterAll(async () => {
    await cleanup(
      () => p?.stop(),
      () => proxy?.stop(),
      () => cleanupEngine(),
    );
  });

  it("manages the engine behind tcp://127.0.0.1:<port>", async () => {
    const up = await whenStatus(p!, "local", "up");
    expect(up).toMatchObject({ kind: "docker", url: proxy!.tcpUrl });
    const name = uniqueName("tcp");
    const id = runContainer(name);
    const item = await eventually(async () => (await containersOf(p!, "local")).find((c) => c.id === id));
    expect(item).toMatchObject({ name, state: "running" });
    expect((await p!.api("POST", `/api/v1/envs/local/containers/${id}/stop?t=0`)).status).toBe(204);
    expect((await containersOf(p!, "local")).find((c) => c.id === id)?.state).toBe("exited");
    expect(proxy!.count(/\/containers\/json/)).toBeGreaterThan(0);
    expect(proxy!.count(/\/events/)).toBeGreaterThan(0);
  });
});
