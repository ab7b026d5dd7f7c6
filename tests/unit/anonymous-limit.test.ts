import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog, COUNTED_ACTION, type NewAuditEntry } from "../../src/audit/audit-log.ts";
import { AnonymousLimit } from "../../src/http/anonymous-limit.ts";
import { addressBlock } from "../../src/http/client-address.ts";
import { openDatabase } from "../../src/store/database.ts";

describe("address blocks", () => {
  it("counts IPv4 by address and IPv6 by its /64, however it is written", () => {
    expect(addressBlock("10.1.2.3")).toBe("10.1.2.3");
    expect(addressBlock("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressBlock("2001:db8:0:1::5")).toBe("2001:db8:0:1::/64");
    expect(addressBlock("2001:0db8:0000:0001:ffff:1:2:3")).toBe("2001:db8:0:1::/64");
    expect(addressBlock("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBlock("::1")).toBe("0:0:0:0::/64");
    expect(addressBlock("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressBlock("")).toBe("");
  });
});

describe("anonymous limit", () => {
  it("allows a burst of perMinute refusals, then one per 60/perMinute seconds", () => {
    let now = 0;
    const limit = new AnonymousLimit(60, 100, () => now);
    for (let i = 0; i < 60; i++) expect(limit.take("a")).toBe(0);
    expect(limit.take("a")).toBe(1000);
    expect(limit.take("b")).toBe(0); // another address has its own bucket
    now += 500;
    expect(limit.take("a")).toBe(500);
    now += 500;
    expect(limit.take("a")).toBe(0);
    expect(limit.take("a")).toBe(1000);
    limit.giveBack("a"); // that one was answered after all
    expect(limit.take("a")).toBe(0);
  });

  it("remembers a bounded number of addresses, forgetting the longest untouched", () => {
    const limit = new AnonymousLimit(1, 3, () => 0);
    for (const a of ["a", "b", "c"]) expect(limit.take(a)).toBe(0);
    expect(limit.take("a")).toBeGreaterThan(0); // touched again: now the newest
    expect(limit.take("d")).toBe(0); // "b" is forgotten to make room
    expect(limit.take("b")).toBe(0);
    expect(limit.take("a")).toBeGreaterThan(0);
  });
});

describe("audit log: refusals without credentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "gptest-refusals-"));
  const db = openDatabase(dir);
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const refusal = (address: string): NewAuditEntry => ({
    user_id: null,
    username: "",
    address,
    env: "",
    action: "POST (no route)",
    target: "",
    result: "denied",
    status: 401,
    detail: "",
  });

  it("lists ten a minute per address, and writes the rest as one count when the minute is over", () => {
    let now = 1_000_000;
    const log = new AuditLog(db, () => now);
    const from = log.query({}, 1)[0]?.id ?? 0;
    const added = () => log.query({}, 1000).filter((e) => e.id > from);
    for (let i = 0; i < 500; i++) log.appendRefusal("10.0.0.1", refusal("10.0.0.1"));
    for (let i = 0; i < 3; i++) log.appendRefusal("10.0.0.2", refusal("10.0.0.2"));
    expect(added()).toHaveLength(13);
    now += 60_000;
    // The next refusal from the address closes its minute: the count, then a new minute.
    log.appendRefusal("10.0.0.1", refusal("10.0.0.1"));
    const [newest, counted] = added();
    expect(newest).toMatchObject({ action: "POST (no route)", address: "10.0.0.1" });
    expect(counted).toMatchObject({ action: COUNTED_ACTION, address: "10.0.0.1", target: "count=490" });
    // Stopping writes what is open; an address with nothing beyond its ten has no count row.
    log.stop();
    expect(added()).toHaveLength(15);
  });
});
