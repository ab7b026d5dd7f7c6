// A second baseline for the RSS benchmark: what Bun itself holds once it does what the panel asks of
// it, with none of the panel's own code. bench/run.ts compiles it like minimal-server.ts.
// Usage: runtime-floor PORT CERT_DIR DATA_DIR ENGINE_SOCKET: HTTPS with the panel's kept certificate;
// POST /login checks an argon2id hash; GET /ws is a WebSocket sent a msgpack frame each second;
// each second it lists the engine's containers over its socket, reads a kernel file, writes a row
// to SQLite (WAL); its pages are handed back as the panel's are, after its start and its bursts.
// The panel does all of that and more; this is the part no panel code can shrink.
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { pack } from "msgpackr";
import { keepHandingBackPages } from "../../src/server/hand-back-pages.ts";

const [port, certDir, dataDir, socket] = process.argv.slice(2);
const db = new Database(`${dataDir}/floor.db`, { create: true });
db.exec("PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS tick (at INTEGER, body TEXT)");
const insert = db.prepare("INSERT INTO tick (at, body) VALUES (?, ?)");
const hash = Bun.password.hashSync("floor-password", { algorithm: "argon2id" });
let containers: unknown[] = [];

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port),
  tls: {
    cert: readFileSync(`${certDir}/tls-cert.pem`, "utf8"),
    key: readFileSync(`${certDir}/tls-key.pem`, "utf8"),
  },
  async fetch(req, srv) {
    const { pathname } = new URL(req.url);
    if (pathname === "/ws" && srv.upgrade(req)) return undefined;
    if (pathname === "/login" && req.method === "POST") {
      const { password } = (await req.json()) as { password: string };
      return Response.json({ ok: await Bun.password.verify(password, hash) });
    }
    return new Response("ok");
  },
  websocket: {
    open(ws) {
      ws.subscribe("stats");
    },
    message() {},
  },
});

setInterval(async () => {
  const res = await fetch("http://localhost/containers/json", { unix: socket });
  containers = (await res.json()) as unknown[];
  const stat = readFileSync("/proc/stat", "utf8");
  insert.run(Date.now(), stat.slice(0, 64));
  server.publish("stats", pack(containers.map((_, i) => [i, stat.length % 251, Date.now() % 1000])));
}, 1_000);

keepHandingBackPages();
