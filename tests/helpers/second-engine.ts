import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE } from "./engine.ts";

/**
 * An extra, real dockerd for one test file, beside the main engine. Everything it owns lives under
 * one directory in /tmp: its socket, data root, exec root (where dockerd 20.10 starts its own
 * managed containerd, so the two engines share no containerd), pid file, config file and log.
 *
 * It runs in a network namespace of its own (`unshare --net`), with `--bridge none --iptables=false
 * --ip-masq=false`. The namespace is not optional: dockerd 20.10 started with `--bridge none` DELETES
 * the host's `docker0` on start (removeDefaultBridgeInterface), which takes the bridge network away
 * from the main engine. In its own namespace there is no docker0 to delete, and nothing it does to
 * links, routes or iptables can reach the host's.
 *
 * Its unix socket is a file, so it is reachable from here as usual. For `tcp`, dockerd listens on
 * 127.0.0.1:2376 inside its namespace; a forwarder in that namespace (bun, via nsenter) carries that
 * port to a unix socket, and a listener here on tcp://127.0.0.1:<free port> carries the bytes on. TLS
 * stays end to end between the client and dockerd.
 *
 * stop() takes it all down again: removes its containers, SIGTERM, SIGKILL after a bound (then its
 * containerd, shims and their containers, found by the directory in their command lines), removes
 * the cgroups of the containers the engine did not get to, unmounts whatever is still mounted under
 * the directory, and removes it.
 */
export interface SecondEngineOptions {
  /** Also serve on tcp://127.0.0.1:<free port> (see above). */
  tcp?: boolean;
  /** Server side of TLS for the TCP listener (--tlsverify: clients need a certificate from `ca`). */
  tls?: { ca: string; cert: string; key: string };
  /** How long to wait for /_ping (default 30 s). */
  startTimeoutMs?: number;
}

const DOCKERD = existsSync("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "dockerd";
/** Where dockerd listens inside its own network namespace. */
const INNER_TCP_PORT = 2376;

// A byte forwarder, run as its own process (so that a test blocked in a synchronous `docker` call
// cannot stall it): listens on GP_FWD_LISTEN (a port on 127.0.0.1, 0 for any, or a unix socket path),
// connects each client to GP_FWD_TO (a port on 127.0.0.1 or a unix socket path), prints "ready <port>".
const FORWARDER = `
const net = require("node:net");
const { GP_FWD_LISTEN: listen, GP_FWD_TO: to } = process.env;
const isPort = (v) => /^\\d+$/.test(v);
const server = net.createServer((c) => {
  const u = isPort(to) ? net.connect(Number(to), "127.0.0.1") : net.connect(to);
  const drop = () => { c.destroy(); u.destroy(); };
  c.on("error", drop).on("close", drop);
  u.on("error", drop).on("close", drop);
  c.pipe(u).pipe(c);
});
const ready = () => {
  const a = server.address();
  console.log("ready " + (a && typeof a === "object" ? a.port : 0));
};
if (isPort(listen)) server.listen(Number(listen), "127.0.0.1", ready);
else { require("node:fs").rmSync(listen, { force: true }); server.listen(listen, ready); }
`;

export class SecondEngine {
  tcpPort: number | undefined;
  private proc: ReturnType<typeof Bun.spawn> | undefined;
  private forwarders: ReturnType<typeof Bun.spawn>[] = [];

  private constructor(readonly dir: string) {}

  get socketPath(): string {
    return join(this.dir, "docker.sock");
  }

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  get tcpUrl(): string {
    if (!this.tcpPort) throw new Error("this engine does not listen on TCP");
    return `tcp://127.0.0.1:${this.tcpPort}`;
  }

  get logPath(): string {
    return join(this.dir, "dockerd.log");
  }

  static async start(options: SecondEngineOptions = {}): Promise<SecondEngine> {
    // Short: containerd's sockets live under the exec root and unix socket paths stop at 107 bytes.
    const engine = new SecondEngine(mkdtempSync("/tmp/gpeng-"));
    try {
      await engine.launch(options);
      if (options.tcp) await engine.serveTcp(options.startTimeoutMs ?? 30_000);
      return engine;
    } catch (err) {
      await engine.stop();
      throw err;
    }
  }

  /** The docker CLI against this engine; throws with its stderr on failure. */
  docker(...args: string[]): string {
    const res = Bun.spawnSync(["docker", "-H", this.url, ...args], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    if (res.exitCode !== 0) {
      throw new Error(`docker -H ${this.url} ${args.join(" ")} failed: ${res.stderr.toString().trim()}`);
    }
    return res.stdout.toString().trim();
  }

  /** Copies an image from the main engine: `docker save IMAGE | docker -H <this> load`. */
  loadImage(image = TEST_IMAGE): void {
    const save = Bun.spawnSync(["docker", "save", image], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    if (save.exitCode !== 0) throw new Error(`docker save ${image}: ${save.stderr.toString().trim()}`);
    const load = Bun.spawnSync(["docker", "-H", this.url, "load"], {
      stdin: save.stdout,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    if (load.exitCode !== 0) throw new Error(`docker load: ${load.stderr.toString().trim()}`);
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** Removes its containers, stops the daemon and removes everything under its directory. */
  async stop(): Promise<void> {
    let list: string[] = [];
    if (this.proc && this.proc.exitCode === null && existsSync(this.socketPath)) {
      // Containers that are gone need no shutdown timeout: the daemon then stops in well under a second.
      const ids = Bun.spawnSync(["docker", "-H", this.url, "ps", "-aq", "--no-trunc"], {
        stdout: "pipe",
        stderr: "ignore",
        timeout: 10_000,
      });
      list = ids.stdout.toString().split("\n").filter(Boolean);
      if (list.length) {
        Bun.spawnSync(["docker", "-H", this.url, "rm", "-f", "-v", ...list], {
          stdout: "ignore",
          stderr: "ignore",
          timeout: 20_000,
        });
      }
    }
    await this.halt();
    removeCgroupsOf(list);
    unmountUnder(this.dir);
    for (let i = 0; i < 20; i++) {
      try {
        rmSync(this.dir, { recursive: true, force: true });
        return;
      } catch {
        await Bun.sleep(100);
        unmountUnder(this.dir);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(options: SecondEngineOptions): Promise<void> {
    const hosts = ["--host", this.url];
    if (options.tcp) hosts.push("--host", `tcp://127.0.0.1:${INNER_TCP_PORT}`);
    const tls = options.tls
      ? [
          "--tlsverify",
          "--tlscacert",
          options.tls.ca,
          "--tlscert",
          options.tls.cert,
          "--tlskey",
          options.tls.key,
        ]
      : [];
    const d = (name: string) => join(this.dir, name);
    // Its own (empty) config file: never /etc/docker/daemon.json, which is the main engine's.
    writeFileSync(d("daemon.json"), "{}\n");
    const log = openSync(this.logPath, "a");
    this.proc = Bun.spawn(
      [
        // setsid, unshare and sh all exec: the pid is dockerd's. A session of its own, as a service
        // has: else the kernel's autogroups schedule dockerd as one group with the process that
        // started it (a bench and its panel). A new namespace's loopback starts down.
        "setsid",
        "unshare",
        "--net",
        "--",
        "sh",
        "-c",
        'ip link set lo up && exec "$@"',
        "sh",
        DOCKERD,
        ...hosts,
        ...tls,
        "--data-root",
        d("data"),
        "--exec-root",
        d("exec"),
        "--pidfile",
        d("docker.pid"),
        "--bridge",
        "none",
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
        "--shutdown-timeout",
        "2",
        "--config-file",
        d("daemon.json"),
      ],
      { stdin: "ignore", stdout: log, stderr: log },
    );
    closeSync(log);
    const timeout = options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error(`dockerd exited with ${this.proc.exitCode}:\n${this.logTail()}`);
      }
      if (await this.ping()) return;
      await Bun.sleep(100);
    }
    throw new Error(`dockerd did not answer /_ping within ${timeout} ms:\n${this.logTail()}`);
  }

  private async ping(): Promise<boolean> {
    if (!existsSync(this.socketPath)) return false;
    try {
      const res = await fetch("http://engine/_ping", {
        unix: this.socketPath,
        signal: AbortSignal.timeout(1_000),
      } as RequestInit);
      return res.ok;
    } catch {
      return false;
    }
  }

  /**
   * tcp://127.0.0.1:<free port> here → a unix socket under the directory → 127.0.0.1:2376 in the
   * engine's namespace: two forwarders, the second one started in that namespace.
   */
  private async serveTcp(timeoutMs: number): Promise<void> {
    const sock = join(this.dir, "tcp-forward.sock");
    await this.forward(
      ["nsenter", `--net=/proc/${this.proc!.pid}/ns/net`, "--"],
      sock,
      String(INNER_TCP_PORT),
      timeoutMs,
    );
    this.tcpPort = await this.forward([], "0", sock, timeoutMs);
  }

  private async forward(prefix: string[], listen: string, to: string, timeoutMs: number): Promise<number> {
    // The directory as an argument: processesUnder() finds the forwarder if stop() has to.
    const proc = Bun.spawn([...prefix, process.execPath, "-e", FORWARDER, this.dir], {
      env: { ...process.env, GP_FWD_LISTEN: listen, GP_FWD_TO: to },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.forwarders.push(proc);
    const reader = proc.stdout.getReader();
    const line = await Promise.race([
      reader.read().then((r) => new TextDecoder().decode(r.value ?? new Uint8Array())),
      Bun.sleep(timeoutMs).then(() => ""),
    ]);
    reader.releaseLock();
    const m = /^ready (\d+)/.exec(line);
    if (!m) {
      proc.kill("SIGKILL");
      const err = await Promise.race([new Response(proc.stderr).text(), Bun.sleep(1_000).then(() => "")]);
      throw new Error(`forwarder ${listen} → ${to} did not start: ${err.trim() || line || "no answer"}`);
    }
    return Number(m[1]);
  }

  /** SIGTERM, then SIGKILL after a bound; then anything it left running under its directory. */
  private async halt(): Promise<void> {
    const forwarders = this.forwarders;
    this.forwarders = [];
    for (const f of forwarders) if (f.exitCode === null) f.kill("SIGKILL");
    await Promise.race([Promise.all(forwarders.map((f) => f.exited)), Bun.sleep(5_000)]);
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await Promise.race([proc.exited, Bun.sleep(5_000)]);
      }
    }
    // After a clean stop nothing is left; after a SIGKILL its containerd, shims and their containers are.
    const leftovers = processesUnder(this.dir);
    for (const pid of leftovers) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    for (let i = 0; i < 50 && leftovers.some(alive); i++) await Bun.sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names `dir` (containerd, shims), with all their descendants. */
function processesUnder(dir: string): number[] {
  const parent = new Map<number, number>();
  const roots = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      // The directory itself as an argument (the forwarders), or a path under it (dockerd, containerd, shims).
      if (cmdline.includes(`${dir}/`) || cmdline.includes(`${dir}\0`)) roots.add(pid);
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command (which is in parentheses and may hold spaces): state, ppid, …
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited while we looked
    }
  }
  const found = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/**
 * The cgroup directories of containers whose engine was halted before it removed them (1,000
 * containers outlast `docker rm`'s bound): runc removes a container's cgroups only when the engine
 * deletes it, so without this each bench run at 1,000 left 1,000 empty cgroups on the machine. Only
 * empty directories go (rmdir); those of containers still running stay.
 */
function removeCgroupsOf(ids: string[]): void {
  if (!ids.length) return;
  let hierarchies: string[];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return;
  }
  const parents = ["", ...hierarchies.map((h) => `/${h}`)];
  for (const id of ids)
    for (const parent of parents)
      for (const dir of [`docker/${id}`, `system.slice/docker-${id}.scope`]) {
        try {
          rmdirSync(`${CGROUP_ROOT}${parent}/${dir}`);
        } catch {
          // not there, or another hierarchy's name for the same directory
        }
      }
}

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Unmounts (lazily, deepest first) everything mounted at or under `dir`. */
function unmountUnder(dir: string): void {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return;
  }
  const points = info
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    Bun.spawnSync(["umount", "-l", p], { stdout: "ignore", stderr: "ignore", timeout: 5_000 });
  }
}

export interface TlsFiles {
  /** Docker's DOCKER_CERT_PATH layout for a client: ca.pem, cert.pem, key.pem. */
  clientDir: string;
  /** For dockerd: --tlscacert, --tlscert, --tlskey. */
  server: { ca: string; cert: string; key: string };
}

/**
 * A throwaway CA, a server certificate for IP 127.0.0.1 and a client certificate, made with the
 * openssl CLI (ECDSA P-256: fast to make, and both Go and Bun speak it).
 */
export function makeTlsFiles(dir: string): TlsFiles {
  const serverDir = join(dir, "server");
  const clientDir = join(dir, "client");
  mkdirSync(serverDir, { recursive: true });
  mkdirSync(clientDir, { recursive: true });
  const openssl = (...args: string[]) => {
    const res = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    if (res.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr.toString().trim()}`);
  };
  const key = (path: string) =>
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path);
  const caKey = join(dir, "ca-key.pem");
  const ca = join(dir, "ca.pem");
  key(caKey);
  openssl(
    ..."req -x509 -new -sha256 -days 2 -subj /CN=ghostpanel-test-ca".split(" "),
    "-key",
    caKey,
    "-out",
    ca,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  const issue = (name: string, subject: string, extensions: string, keyPath: string, certPath: string) => {
    key(keyPath);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    openssl("req", "-new", "-sha256", "-subj", subject, "-key", keyPath, "-out", csr);
    writeFileSync(ext, extensions);
    openssl(
      ..."x509 -req -sha256 -days 2".split(" "),
      "-in",
      csr,
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-set_serial",
      String(Date.now()),
      "-extfile",
      ext,
      "-out",
      certPath,
    );
  };
  issue(
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    join(serverDir, "key.pem"),
    join(serverDir, "cert.pem"),
  );
  issue(
    "client",
    "/CN=ghostpanel-test-client",
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    join(clientDir, "key.pem"),
    join(clientDir, "cert.pem"),
  );
  writeFileSync(join(clientDir, "ca.pem"), readFileSync(ca));
  return { clientDir, server: { ca, cert: join(serverDir, "cert.pem"), key: join(serverDir, "key.pem") } };
}
