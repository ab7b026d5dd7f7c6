import { Database } from "bun:sqlite";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINARY, type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { eventually } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

/** Runs the built executable on `dataDir` until it exits (or 15 s); its exit code and all it printed. */
function runToExit(dataDir: string): { code: number | null; out: string } {
  const res = Bun.spawnSync([BINARY, "serve", "--listen", "127.0.0.1:0", "--data", dataDir, "--tls", "off"], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: 15_000,
  });
  return { code: res.exitCode, out: res.stdout.toString() + res.stderr.toString() };
}

async function health(
  url: string,
): Promise<{ status: number; body: { status: string; warnings: string[] } }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; warnings: string[] } };
}

/**
 * A full disk under the data directory, for real: a small tmpfs, filled up. The panel must start on
 * it, keep serving reads, refuse changes in words, say so in /healthz, and recover once there is room.
 */
describe("a full disk (built binary, data on a small tmpfs)", () => {
  const mountPoint = mkdtempSync(join(tmpdir(), "gptest-fulldisk-"));
  const dataDir = join(mountPoint, "data");
  let mounted = false;
  let panel: BinaryPanel | undefined;
  let token = "";

  const fill = () => {
    // Byte-sized steps at the end: not a page of room may be left for the database.
    const fd = openSync(join(mountPoint, "filler"), "a");
    try {
      for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 1]) {
        const chunk = new Uint8Array(size);
        for (;;) writeSync(fd, chunk);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    } finally {
      closeSync(fd);
    }
  };
  const unfill = () => rmSync(join(mountPoint, "filler"), { force: true });
  const call = (method: string, path: string, body?: unknown) =>
    fetch(panel!.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
    if (mount.exitCode !== 0) throw new Error(`mount: ${mount.stderr.toString()}`);
    mounted = true;
    // A panel that was set up and stopped cleanly: its WAL and shared-memory files are gone, so
    // the next start has to make them again, on a disk with no room for them.
    const first = await startBinary(["--tls", "off"], { dataDir });
    token = await tokenFor(first.url, ADMIN, "full-disk", "setup");
    await first.stop();
  }, 30_000);

  afterAll(async () => {
    await panel?.stop();
    if (mounted) Bun.spawnSync(["umount", mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it("starts on a full disk and keeps answering reads", async () => {
    fill();
    expect(statSync(join(mountPoint, "filler")).size).toBeGreaterThan(0);
    panel = await startBinary(["--tls", "off"], { dataDir });
    // No room for the WAL's shared-memory file: the index is kept in the process instead.
    expect(panel.output()).toMatch(/opening the database exclusively/);
    expect((await health(panel.url)).status).toBe(200);
    expect((await call("GET", "/api/v1/auth/me")).status).toBe(200);
    expect((await call("GET", "/api/v1/envs")).status).toBe(200);
  }, 30_000);

  it("refuses a change with 507 and a message, and /healthz reports the failing writes", async () => {
    const refused = await call("PUT", "/api/v1/settings/audit", { retention_days: 30 });
    expect(refused.status).toBe(507);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("storage_unavailable");
    expect(error.message).toMatch(/database writes failing: disk full/);

    const h = await health(panel!.url);
    expect(h.status).toBe(200);
    expect(h.body.status).toBe("degraded");
    expect(h.body.warnings).toContain("database writes failing: disk full");

    // More failures, one line: the log is not flooded.
    for (let i = 0; i < 5; i++) {
      expect((await call("PUT", "/api/v1/settings/audit", { retention_days: 30 })).status).toBe(507);
    }
    expect((await call("GET", "/api/v1/envs")).status).toBe(200);
    expect(panel!.output().match(/database writes failing \(disk full\)/g)?.length).toBe(1);
    expect(panel!.output()).not.toMatch(/uncaught error|unhandled rejection|\n\s+at /);
  }, 30_000);

  it("outlives the stats history's writes, which fail every 10 s bucket", async () => {
    // The history writes the host's figures (and any running container's) once per 10 s bucket:
    // that write's SQLITE_FULL once ended the process, and again on every restart.
    await Bun.sleep(11_000);
    const h = await health(panel!.url);
    expect(h.status).toBe(200);
    expect(h.body.warnings).toContain("database writes failing: disk full");
    expect(panel!.output()).not.toMatch(/uncaught error|unhandled rejection|\n\s+at /);
  }, 30_000);

  it("recovers once there is room again", async () => {
    unfill();
    await eventually(
      async () => ((await health(panel!.url)).body.status === "ok" ? true : undefined),
      15_000,
      "/healthz to be ok again",
    );
    expect((await health(panel!.url)).body.warnings).toEqual([]);
    const res = await call("PUT", "/api/v1/settings/audit", { retention_days: 30 });
    expect(res.status).toBe(200);
    expect(panel!.output()).toMatch(/database writes work again/);
  }, 30_000);
});

/**
 * A database file that is there but empty or damaged is refused at start with one line, never
 * taken for a first run (which would open setup to whoever comes first). No file is a first run.
 */
describe("the database file at start (built binary)", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "gptest-db-"));
    dirs.push(dir);
    return dir;
  };

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function expectRefused(dir: string, why: RegExp): void {
    const { code, out } = runToExit(dir);
    expect(code, out).not.toBe(0);
    expect(code, out).not.toBeNull();
    const lines = out.trim().split("\n");
    expect(lines, out).toHaveLength(1);
    expect(lines[0]).toMatch(/^ghostpanel: .*ghostpanel\.db/);
    expect(lines[0]).toMatch(why);
    expect(out).not.toMatch(/listening on|First run/);
  }

  it("refuses a zero-length file, and leaves it as it was", () => {
    const dir = dataDir();
    writeFileSync(join(dir, "ghostpanel.db"), "");
    expectRefused(dir, /empty \(0 bytes\)/);
    expect(statSync(join(dir, "ghostpanel.db")).size).toBe(0);
  });

  it("refuses a damaged file", () => {
    const dir = dataDir();
    writeFileSync(join(dir, "ghostpanel.db"), "these bytes were a database once\n".repeat(200));
    expectRefused(dir, /damaged or not a database/);
  });

  it("refuses a database that was set up, then truncated by a failing disk", async () => {
    const dir = dataDir();
    const first = await startBinary(["--tls", "off"], { dataDir: dir });
    await tokenFor(first.url, ADMIN, "before", "setup");
    await first.stop();
    const db = join(dir, "ghostpanel.db");
    writeFileSync(db, Buffer.from(await Bun.file(db).arrayBuffer()).subarray(0, 1024));
    expectRefused(dir, /damaged or not a database|is an SQLite database/);
  }, 30_000);

  it("refuses an SQLite file that is not GhostPanel's", () => {
    const dir = dataDir();
    const other = new Database(join(dir, "ghostpanel.db"), { create: true });
    other.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')");
    other.close();
    expectRefused(dir, /not a GhostPanel one/);
  });

  it("takes a missing file for a first run, as before", async () => {
    const dir = dataDir();
    const panel = await startBinary(["--tls", "off"], { dataDir: dir });
    try {
      expect(panel.output()).toMatch(/First run/);
      expect(await (await fetch(`${panel.url}/api/v1/setup`)).json()).toEqual({ needed: true });
      expect(readdirSync(dir)).toContain("ghostpanel.db");
    } finally {
      await panel.stop();
    }
  }, 30_000);
});
