import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/audit/audit-log.ts";
import { StatsHistory } from "../../src/stats/history.ts";
import { openDatabase } from "../../src/store/database.ts";
import { storageProblem, writeHealth } from "../../src/store/write-health.ts";

const dir = mkdtempSync(join(tmpdir(), "gptest-writehealth-"));
openDatabase(dir).close();
// A database that refuses every write, as a read-only mount or a failing disk does.
const readOnly = new Database(join(dir, "ghostpanel.db"), { readonly: true });
const lines: string[] = [];
writeHealth(readOnly).log = (line) => lines.push(line);
afterAll(() => {
  writeHealth(readOnly).close();
  readOnly.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);

describe("writes that fail", () => {
  it("tells storage failures from the rest", () => {
    expect(storageProblem({ code: "SQLITE_FULL" })).toBe("disk full");
    expect(storageProblem({ code: "SQLITE_IOERR_WRITE" })).toBe("I/O error");
    expect(storageProblem({ code: "SQLITE_READONLY" })).toBe("read-only");
    expect(storageProblem({ code: "SQLITE_CONSTRAINT_UNIQUE" })).toBeUndefined();
    expect(storageProblem(new Error("x"))).toBeUndefined();
  });

  it("stats history keeps recording in memory, and says so once, not once per sample", () => {
    const h = new StatsHistory(readOnly, "local", 1000);
    // Ten minutes: sixty 10 s buckets and ten 1 min ones, each a failed write.
    for (let i = 0; i <= 600; i++) {
      h.record(T0 + i * 1000, new Map([["a", [i, 1000, 0, 0, 0, 0, 1]]]));
    }
    expect(h.query("a", "15m", T0 + 600_000)?.series.cpu_percent.at(-1)).toBe(600);
    expect(writeHealth(readOnly).warnings()).toEqual(["database writes failing: read-only"]);
    expect(lines.filter((l) => l.includes("database writes failing"))).toHaveLength(1);
  });

  it("an audit entry that cannot be stored is reported, not thrown, and changes are held back", () => {
    const audit = new AuditLog(readOnly);
    const entry = {
      user_id: 1,
      username: "admin",
      address: "127.0.0.1",
      env: "local",
      action: "POST /x",
      target: "",
      result: "ok" as const,
      status: 204,
      detail: "",
    };
    expect(audit.append(entry)).toBe(false);
    expect(audit.unwritable()).toBe("read-only");
    expect(() => audit.startRetention()).not.toThrow();
    audit.stop();
  });
});
