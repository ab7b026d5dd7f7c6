import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

const TOTAL = 1000;
const KILL_AFTER = 500;
const CONCURRENCY = 16;

/**
 * Issue #4, point 11: the executable killed with SIGKILL in the middle of 1,000 audited changes
 * restarts on an intact database, and every change whose answer arrived has its audit entry.
 */
describe("audit durability across SIGKILL (built executable)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gptest-durable-"));
  let panel: BinaryPanel | undefined;
  afterAll(async () => {
    await panel?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged entry and an intact database", async () => {
    const args = ["--tls", "off"];
    panel = await startBinary(args, { dataDir });
    const token = await tokenFor(panel.url, ADMIN, "durability", "setup");

    // Half the changes succeed (a token made: two commits, the token's and the entry's), half are
    // refused by the handler (an engine URL it cannot use); each carries its marker into the target.
    const marker = (i: number) => `dur-${i}`;
    const send = (url: string, i: number) =>
      i % 2 === 0
        ? fetch(`${url}/api/v1/tokens`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ name: marker(i) }),
          })
        : fetch(`${url}/api/v1/envs`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ name: marker(i), url: "ftp://nowhere" }),
          });

    const acknowledged = new Set<string>();
    const unexpected: string[] = [];
    let next = 0;
    let inFlight = 0;
    let inFlightAtKill = 0;
    let failed = 0;
    let killed: Promise<void> | undefined;
    const running = panel;
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        inFlight++;
        // No answer: in flight when the process died, or sent after.
        const res = await send(running.url, i).catch(() => undefined);
        inFlight--;
        if (!res) failed++;
        else {
          acknowledged.add(marker(i));
          if (res.status !== (i % 2 === 0 ? 201 : 400)) unexpected.push(`${marker(i)}: ${res.status}`);
        }
        if (!killed && acknowledged.size >= KILL_AFTER) {
          inFlightAtKill = inFlight;
          killed = running.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await killed;
    expect(killed).toBeDefined();
    expect(unexpected).toEqual([]);
    expect(inFlightAtKill).toBeGreaterThan(0);

    panel = await startBinary(args, { dataDir });
    const db = new Database(join(dataDir, "ghostpanel.db"), { strict: true });
    try {
      expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
      const rows = db
        .query(
          "SELECT target, result FROM audit_log WHERE action IN ('POST /api/v1/tokens', 'POST /api/v1/envs')",
        )
        .all() as { target: string; result: string }[];
      const found = new Map<string, number>();
      for (const r of rows) {
        const name = /name=(dur-\d+)/.exec(r.target)?.[1];
        if (name) found.set(name, (found.get(name) ?? 0) + 1);
      }
      const missing = [...acknowledged].filter((m) => !found.has(m));
      const tokens = new Set(
        (db.query("SELECT name FROM api_tokens").all() as { name: string }[]).map((t) => t.name),
      );
      console.log(
        `durability: ${acknowledged.size} acknowledged, ${inFlightAtKill} in flight at the kill, ` +
          `${failed} failed; ${found.size} entries found after restart, ${missing.length} missing`,
      );
      expect(missing).toEqual([]);
      expect([...found.values()].every((n) => n === 1)).toBe(true);
      // Entries beyond the acknowledged ones: answers lost with the process, at most those in flight.
      expect(found.size - acknowledged.size).toBeLessThanOrEqual(inFlightAtKill);
      for (const m of acknowledged) if (Number(m.slice(4)) % 2 === 0) expect(tokens.has(m), m).toBe(true);
    } finally {
      db.close();
    }
    // The restarted panel serves them too, and records again.
    const res = await fetch(`${panel.url}/api/v1/audit?q=name%3Ddur-&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await res.json()) as unknown[]).length).toBeGreaterThanOrEqual(acknowledged.size);
  });
});
