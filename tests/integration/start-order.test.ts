import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { START_OVER_MS } from "../../src/server/hand-back-pages.ts";
import { BINARY } from "../helpers/binary.ts";

// Issue #14: what runs before the first /healthz is only what that answer needs (src/main.ts,
// src/server/listen.ts, src/server/load-panel.ts), and the executable, whose panel is split into
// pieces loaded behind the listener (build.ts), still finds all of them wherever it runs from.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src", "main.ts");
const ENGINE = "unix:///var/run/docker.sock";

const dirs: string[] = [];
const tempDir = (what: string) => {
  const d = mkdtempSync(join(tmpdir(), `gptest-start-${what}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `serve` on a free port of loopback, a fresh data dir, without TLS, on the test engine. */
const serveTlsOff = () => [
  "serve",
  "--listen",
  "127.0.0.1:0",
  "--data",
  tempDir("data"),
  "--tls",
  "off",
  "--engine",
  ENGINE,
];

/** The executable copied to a directory of its own: run from elsewhere, its pages its own. */
const copyBinary = () => {
  const file = join(tempDir("bin"), "ghostpanel");
  copyFileSync(BINARY, file);
  Bun.spawnSync(["chmod", "755", file]);
  return file;
};

/** A preload that lists, in order, every file of src/ the run loads, when the process exits. */
function recorder(): string {
  const file = join(tempDir("rec"), "record.ts");
  writeFileSync(
    file,
    `const loaded: string[] = [];
Bun.plugin({
  name: "record-loads",
  setup(build) {
    build.onLoad({ filter: /[\\\\/]src[\\\\/].*\\.ts$/ }, async (args) => {
      loaded.push(args.path);
      return { contents: await Bun.file(args.path).text(), loader: "ts" };
    });
  },
});
process.on("exit", () => console.error("LOADED " + JSON.stringify(loaded)));
`,
  );
  return file;
}

function loadedBy(stderr: string): string[] {
  const line = stderr.split("\n").find((l) => l.startsWith("LOADED "));
  if (!line) throw new Error(`no list of loaded files in:\n${stderr}`);
  return (JSON.parse(line.slice("LOADED ".length)) as string[]).map((p) => p.slice(ROOT.length));
}

describe("start-up order (from source)", () => {
  it("--version and --help load nothing of the server", () => {
    const preload = recorder();
    for (const args of [["--version"], ["--help"], ["serve", "--help"]]) {
      const run = Bun.spawnSync([process.execPath, "--preload", preload, MAIN, ...args], { stderr: "pipe" });
      expect(run.exitCode).toBe(0);
      expect(loadedBy(run.stderr.toString())).toEqual(["src/main.ts", "src/server/config.ts"]);
    }
  });

  it("serve: only the listener's modules load before the listener opens; the panel after it", async () => {
    const proc = Bun.spawn([process.execPath, "--preload", recorder(), MAIN, ...serveTlsOff()], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await untilOutput(proc, /Engine "local" (up|unreachable)/);
    proc.kill("SIGTERM");
    await proc.exited;
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    const loaded = loadedBy(await new Response(proc.stderr).text());
    const opened = loaded.indexOf("src/server/load-panel.ts");
    expect(opened).toBeGreaterThan(0);
    // Everything before load-panel.ts is what the listener needs (listen.ts and its imports).
    expect(new Set(loaded.slice(0, opened))).toEqual(
      new Set([
        "src/main.ts",
        "src/server/config.ts",
        "src/server/listen.ts",
        "src/http/limits.ts",
        "src/tls/certificate.ts",
        "src/tls/reload.ts",
      ]),
    );
    expect(loaded.indexOf("src/server/serve.ts")).toBeGreaterThan(opened);
  }, 60_000);
});

describe("the executable, copied elsewhere and started from a third directory", () => {
  it("--version and --help answer", () => {
    const bin = copyBinary();
    const cwd = tempDir("cwd");
    const version = Bun.spawnSync([bin, "--version"], { cwd });
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = Bun.spawnSync([bin, "--help"], { cwd });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("ghostpanel [serve] [options]");
  });

  it("serves /healthz, the embedded UI and the API over TLS with a kept certificate", async () => {
    const bin = copyBinary();
    const dataDir = tempDir("data");
    // A first start makes the certificate; the second finds it kept and uses it as it is.
    for (const round of ["made", "kept"]) {
      const proc = Bun.spawn(
        [bin, "serve", "--listen", "127.0.0.1:0", "--data", dataDir, "--tls", "auto", "--engine", ENGINE],
        { cwd: tempDir("cwd"), stdout: "pipe", stderr: "pipe" },
      );
      try {
        const out = await untilOutput(proc, /listening on https:\/\/127\.0\.0\.1:\d+/);
        const url = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
        const fingerprint = /SHA-256 fingerprint ([0-9A-F:]{95})/.exec(out)?.[1];
        const insecure = { tls: { rejectUnauthorized: false } } as RequestInit;
        const health = (await (await fetch(`${url}/healthz`, insecure)).json()) as {
          status: string;
          tls: { fingerprint_sha256: string };
        };
        expect(health.status, round).toBe("ok");
        if (fingerprint) expect(health.tls.fingerprint_sha256).toBe(fingerprint);
        // The UI is embedded by a piece loaded behind the listener: the app waits for it.
        const page = await fetch(`${url}/`, insecure);
        expect(page.status).toBe(200);
        expect(page.headers.get("content-type")).toContain("text/html");
        expect((await page.text()).toLowerCase()).toContain("<!doctype html>");
        const api = await fetch(`${url}/api/v1/envs`, insecure);
        expect(api.status).toBe(401);
      } finally {
        proc.kill("SIGTERM");
        await proc.exited;
      }
    }
  }, 60_000);
});

describe("the start's pages, handed back once the start is over", () => {
  /** The executable's pages resident in the process: its own copy of the file, so shared with no one. */
  const filePages = (pid: number) =>
    Number(/^Pss_File:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);

  it("a running panel holds fewer of the executable's pages after the start than during it", async () => {
    const file = copyBinary();
    const proc = Bun.spawn([file, ...serveTlsOff()], { cwd: tempDir("cwd"), stdout: "pipe", stderr: "pipe" });
    try {
      const out = await untilOutput(proc, /listening on http:\/\/127\.0\.0\.1:\d+/);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const during = filePages(proc.pid);
      await Bun.sleep(START_OVER_MS + 3_000);
      // Still answering, and with what it goes on using faulted back in: well under what the start held.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(200);
      const after = filePages(proc.pid);
      expect(after, `${during} kB during the start, ${after} kB after`).toBeLessThan(during * 0.8);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }, 60_000);
});

async function untilOutput(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, until: RegExp): Promise<string> {
  let out = "";
  const reader = proc.stdout.getReader();
  const deadline = Date.now() + 30_000;
  let pending = reader.read();
  while (!until.test(out)) {
    if (Date.now() > deadline) throw new Error(`no ${until} in:\n${out}`);
    const next = await Promise.race([pending, Bun.sleep(1_000).then(() => undefined)]);
    if (!next) continue;
    if (next.done) throw new Error(`the process ended before ${until}:\n${out}`);
    out += Buffer.from(next.value).toString();
    pending = reader.read();
  }
  return out;
}
