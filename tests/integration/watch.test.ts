import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/protocol/frames.ts";
import { StatsParts } from "../../src/protocol/stats-datagrams.ts";
import type { QuicWatchInfo } from "../../src/protocol/watch-quic.ts";
import { fingerprintOf } from "../../src/tls/certificate.ts";
import { QuicRefused, quicStream } from "../../src/watch/quic.ts";
import { BINARY, type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  createContainer,
  docker,
  RUN_LABEL,
  runContainer,
  uniqueName,
} from "../helpers/engine.ts";
import { cleanupNetworks } from "../helpers/networks.ts";
import { ADMIN, sessionCookies } from "../helpers/panel.ts";
import { type Impairment, Relay } from "../helpers/relay.ts";

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
  const crowd = Array.from({ length: 16 }, () => uniqueName("w-crowd"));

  beforeAll(async () => {
    runContainer(busy, ["sh", "-c", "yes > /dev/null"], ["--network", "none"]);
    docker("network", "create", "--label", RUN_LABEL, net);
    runContainer(sink, ["sleep", "3600"], ["--network", net]);
    // ~8 KB a second to a container of this test: rates that cannot be zero.
    runContainer(sender, ["ping", "-s", "8000", sink], ["--network", net]);
    // Enough idle containers that a keyframe takes several datagrams.
    for (const name of crowd) createContainer(name, ["sleep", "3600"], ["--network", "none"]);
    docker("start", ...crowd);
    panel = await startBinary(["--tls", "auto", "--http3", "--agent-listen", "127.0.0.1:0"]);
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
  }, 180_000);

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
    cleanupNetworks();
  });

  const ca = () => join(panel.dataDir, "tls-cert.pem");

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
    ["QUIC datagrams, pinning the certificate the panel names", () => ["--via", "quic", "--ca", ca()]],
    ["WebSocket, trusting the panel's certificate", () => ["--via", "ws", "--ca", ca()]],
    ["HTTP/3 feed", () => ["--via", "h3", "--insecure"]],
  ] as const) {
    it(`prints one table of live figures over the ${via}`, async () => {
      const out = await plausibleTable(transport());
      expect(out).toContain(`· local ·`);
      expect(out).toContain(`via ${via.split(",")[0]}`);
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

  /** Where the panel's QUIC listener is, as the panel says (`watch` asks the same). */
  async function quicInfo(): Promise<QuicWatchInfo> {
    const res = await fetch(`${panel.url}/api/v1/stream/quic`, {
      tls: { rejectUnauthorized: false },
      headers: { authorization: `Bearer ${token}` },
    } as RequestInit);
    expect(res.status).toBe(200);
    return (await res.json()) as QuicWatchInfo;
  }

  /** `stats:local` over QUIC through a relay in front of the panel's listener, each frame to `onFrame`. */
  async function watchThroughRelay(impairment: Partial<Impairment>, onFrame: (f: Frame) => void) {
    const info = await quicInfo();
    const relay = await Relay.start("udp", Number(info.address.split(":")[1]), impairment);
    const target = {
      host: "127.0.0.1",
      port: relay.port,
      fingerprint: info.fingerprint,
      servername: "localhost",
    };
    const stop = new AbortController();
    const link = quicStream(target, token, ["stats:local"], onFrame, stop.signal);
    return { relay, stop, link };
  }

  it("names the QUIC listener's certificate: the panel's own", async () => {
    const info = await quicInfo();
    expect(info.fingerprint).toBe(fingerprintOf(readFileSync(ca(), "utf8")));
    expect(info.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("refuses over QUIC a certificate that is not the pinned one, and a token it does not know", async () => {
    const wrong = Array.from({ length: 32 }, () => "AB").join(":");
    const pinned = await watch(["--panel", panel.url, "--once", "--ca", ca(), "--fingerprint", wrong], token);
    expect(pinned.code).toBe(1);
    expect(pinned.err).toContain(`is not the pinned ${wrong}`);
    // The binary checks the token over HTTPS first; the QUIC listener refuses it on its own too.
    const info = await quicInfo();
    const [host = "", port = ""] = info.address.split(":");
    const target = { host, port: Number(port), fingerprint: info.fingerprint, servername: "localhost" };
    const frames: Frame[] = [];
    const refused = await quicStream(target, "gp_not-a-token", ["stats:local"], (f) => frames.push(f)).catch(
      (err) => err,
    );
    expect(refused).toBeInstanceOf(QuicRefused);
    expect((refused as Error).message).toContain("the panel refused the token");
    expect(frames).toEqual([]);
  });

  it("without --via, falls back to the WebSocket when the QUIC listener gives no answer, and says so", async () => {
    const silent = await Relay.start("udp", 9, { loss: 1 });
    try {
      const res = await watch(
        ["--panel", panel.url, "--once", "--ca", ca(), "--quic", `127.0.0.1:${silent.port}`],
        token,
      );
      expect(res.code).toBe(0);
      expect(res.err).toContain("falling back to the WebSocket");
      expect(res.out).toContain("via WebSocket");
      expect(row(res.out, busy)).toBeDefined();
    } finally {
      silent.stop();
    }
  });

  it("keeps one QUIC session for longer than the minute after which the panel ends a silent stream", async () => {
    // #12: the panel's listener ends a client's stream that carried nothing for 60 s, and the panel
    // then ends the watch; the client's pings on its control stream keep it.
    const info = await quicInfo();
    const [host = "", port = ""] = info.address.split(":");
    const target = { host, port: Number(port), fingerprint: info.fingerprint, servername: "localhost" };
    const parts = new StatsParts();
    const applied: number[] = [];
    const stop = new AbortController();
    let ended = false;
    const link = quicStream(
      target,
      token,
      ["stats:local"],
      (f) => {
        if (f.t !== "stats:local") return;
        if (parts.apply(f.k, f.d) && f.k === "delta") applied.push(performance.now());
      },
      stop.signal,
    ).finally(() => {
      ended = true;
    });
    link.catch(() => {});
    const started = performance.now();
    try {
      await Bun.sleep(68_000);
      expect(ended).toBe(false);
      // Ticks (one a second) still applied after the minute.
      expect(applied.filter((at) => at - started > 63_000).length).toBeGreaterThan(0);
    } finally {
      stop.abort();
      await link.catch(() => {});
    }
  }, 90_000);

  it("decodes the stats through a lossy path, and the panel sends keyframes again on loss", async () => {
    const parts = new StatsParts();
    const keyframes = new Set<number>();
    let deltas = 0;
    let cut = 0;
    const onFrame = (f: Frame) => {
      if (f.t !== "stats:local") return;
      if ((f.d as { p?: unknown }).p) cut++;
      if (!parts.apply(f.k, f.d)) return;
      if (f.k === "key") keyframes.add((f.d as { s: number }).s);
      else deltas++;
    };
    const { relay, stop, link } = await watchThroughRelay({ delayMs: 25, loss: 0.3 }, onFrame);
    let linkError: unknown;
    link.catch((err) => {
      linkError = err;
    });
    const names = () => new Set([...parts.table.rows.values()].map((r) => r.name));
    try {
      // Lossy (at a tick a second) until the panel has had to send a keyframe again on a loss, and
      // deltas were applied (a resend can come before the first delta does).
      for (let i = 0; i < 100 && (keyframes.size < 2 || deltas === 0); i++) await Bun.sleep(500);
      expect(linkError).toBeUndefined();
      expect(relay.counts.dropped).toBeGreaterThan(0);
      expect(deltas).toBeGreaterThan(0);
      // A keyframe of this many containers does not fit one datagram: it came in parts.
      expect(cut).toBeGreaterThan(1);
      // More than the first keyframe: the panel sent keyframes again on loss.
      expect(keyframes.size).toBeGreaterThan(1);
      relay.set({ loss: 0 });
      // Every container back within 10 s once the loss stops.
      const all = [...crowd, busy, sink, sender];
      for (let i = 0; i < 20 && !all.every((n) => names().has(n)); i++) await Bun.sleep(500);
      for (const name of all) expect(names()).toContain(name);
      const busyRow = [...parts.table.views()].find((v) => v.name === busy);
      expect(busyRow?.cpu_percent).toBeGreaterThan(1);
    } finally {
      stop.abort();
      await link.catch(() => {});
      relay.stop();
    }
  }, 90_000);
  it("sends each stats datagram twice from a session's start, and the client applies it once", async () => {
    const parts = new StatsParts();
    // Per datagram: its kind, tick and part; how many times each came, and was applied.
    const seen = new Map<string, number>();
    const applied = new Map<string, number>();
    const onFrame = (f: Frame) => {
      if (f.t !== "stats:local") return;
      const d = f.d as { s: number; p?: [number, number] };
      const id = `${f.k}:${d.s}:${d.p?.[0] ?? "-"}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (parts.apply(f.k, f.d)) applied.set(id, (applied.get(id) ?? 0) + 1);
    };
    const { relay, stop, link } = await watchThroughRelay({ delayMs: 10, loss: 0 }, onFrame);
    try {
      // A new session does not know its link yet: copies from the first tick (a minute without
      // loss ends them: tests/unit/lossy-link.test.ts).
      const ticks = () => new Set([...seen.keys()].map((id) => Number(id.split(":")[1])));
      for (let i = 0; i < 40 && ticks().size < 4; i++) await Bun.sleep(250);
      expect(ticks().size).toBeGreaterThanOrEqual(4);
      const last = Math.max(...ticks());
      // Ticks whose copies have all come: those before the newest.
      const settled = (m: Map<string, number>) => [...m].filter(([id]) => Number(id.split(":")[1]) < last);
      expect(settled(seen).length).toBeGreaterThan(2);
      expect(settled(seen).filter(([, n]) => n < 2)).toEqual([]);
      // The second copy of a delta is stale to the client.
      const deltas = settled(applied).filter(([id]) => id.startsWith("delta:"));
      expect(deltas.length).toBeGreaterThan(0);
      expect(deltas.filter(([, n]) => n !== 1)).toEqual([]);
      // A blackout of a few ticks: the client's table comes back, each delta applied once.
      relay.set({ loss: 1 });
      await Bun.sleep(2500);
      relay.set({ loss: 0 });
      const from = parts.table.seq;
      for (let i = 0; i < 40 && parts.table.seq < from + 3; i++) await Bun.sleep(250);
      expect(parts.table.seq).toBeGreaterThanOrEqual(from + 3);
      expect([...applied].filter(([id, n]) => id.startsWith("delta:") && n !== 1)).toEqual([]);
    } finally {
      stop.abort();
      await link.catch(() => {});
      relay.stop();
    }
  }, 60_000);
});
