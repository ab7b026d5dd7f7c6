import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINARY, type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, RUN_LABEL, runContainer, uniqueName } from "../helpers/engine.ts";
import { cleanupNetworks } from "../helpers/networks.ts";
import { ADMIN, sessionCookies } from "../helpers/panel.ts";

/** `ghostpanel watch` of the built binary; the token goes by environment, as the usage advises. */
async function watch(args: string[], token: string) {
  const proc = Bun.spawn([BINARY, "watch", ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, GHOSTPANEL_TOKEN: token },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { out, err, code };
}

const UNIT = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
const size = (s: string) => {
  const [n, unit] = s.replace("/s", "").split(" ");
  return Number(n) * UNIT[unit as keyof typeof UNIT];
};

/** The table's row of one container: CPU %, memory and rates as numbers. */
function row(table: string, name: string) {
  const line = table.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) return undefined;
  const [, cpu, mem, limit, rx, tx] = line.split(/ {2,}/);
  return { cpu: Number(cpu), mem: size(mem!), limit: size(limit!), rx: size(rx!), tx: size(tx!) };
}

describe("ghostpanel watch, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let token = "";
  const busy = uniqueName("w-busy");
  const sink = uniqueName("w-sink");
  const sender = uniqueName("w-ping");
  const net = uniqueName("w-net");

  beforeAll(async () => {
    runContainer(busy, ["sh", "-c", "yes > /dev/null"], ["--network", "none"]);
    docker("network", "create", "--label", RUN_LABEL, net);
    runContainer(sink, ["sleep", "3600"], ["--network", net]);
    // ~8 KB a second to a container of this test: rates that cannot be zero.
    runContainer(sender, ["ping", "-s", "8000", sink], ["--network", net]);
    panel = await startBinary(["--tls", "auto", "--http3"]);
    const insecure = { tls: { rejectUnauthorized: false } };
    const setup = await fetch(`${panel.url}/api/v1/setup`, {
      ...insecure,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    } as RequestInit);
    const cookie = sessionCookies(setup);
    const made = await fetch(`${panel.url}/api/v1/tokens`, {
      ...insecure,
      method: "POST",
      headers: {
        cookie,
        "x-csrf-token": /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "",
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "watch" }),
    } as RequestInit);
    token = ((await made.json()) as { token: string }).token;
  }, 60_000);

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
    cleanupNetworks();
  });

  /** Runs `watch --once` until the figures have had time to become rates (the first tick has none). */
  async function plausibleTable(transport: string[]) {
    let last = { out: "", err: "", code: -1 as number | null };
    for (let i = 0; i < 6; i++) {
      last = await watch(["--panel", panel.url, "--once", ...transport], token);
      expect(last.err).toBe("");
      expect(last.code).toBe(0);
      const s = row(last.out, sender);
      if (s && s.tx > 0 && (row(last.out, sink)?.rx ?? 0) > 0 && (row(last.out, busy)?.cpu ?? 0) > 1)
        return last.out;
      await Bun.sleep(1000);
    }
    return last.out;
  }

  for (const [via, transport] of [
    ["the WebSocket, trusting the panel's certificate", () => ["--ca", join(panel.dataDir, "tls-cert.pem")]],
    ["the HTTP/3 feed", () => ["--via", "h3", "--insecure"]],
  ] as const) {
    it(`prints one table of live figures over ${via}`, async () => {
      const out = await plausibleTable(transport());
      expect(out).toContain(`· local ·`);
      expect(out).toMatch(/NAME +CPU % +MEM +LIMIT +NET RX +NET TX/);
      const b = row(out, busy)!;
      expect(b.cpu).toBeGreaterThan(1);
      expect(b.mem).toBeGreaterThan(0);
      expect(b.rx).toBe(0); // no network at all
      expect(row(out, sender)!.tx).toBeGreaterThan(1000);
      expect(row(out, sink)!.rx).toBeGreaterThan(1000);
      // Sorted busiest first.
      const names = out
        .split("\n")
        .slice(3)
        .map((l) => l.split(" ")[0]);
      expect(names.indexOf(busy)).toBeLessThan(names.indexOf(sink));
    });
  }

  it("says in words why it cannot watch, and exits non-zero", async () => {
    const ca = ["--ca", join(panel.dataDir, "tls-cert.pem")];
    const refused = await watch(["--panel", panel.url, "--once", ...ca], "not-a-token");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("the panel refused the token");
    const missing = await watch(["--panel", panel.url, "--once", "--env", "nosuch", ...ca], token);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('environment "nosuch"');
    const untrusted = await watch(["--panel", panel.url, "--once"], token);
    expect(untrusted.code).toBe(1);
    expect(untrusted.err).toContain("cannot reach the panel");
    const usage = await watch(["--panel", panel.url, "--bogus"], token);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("unknown option --bogus");
  });
});
