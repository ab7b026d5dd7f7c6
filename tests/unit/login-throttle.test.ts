import { Database } from "bun:sqlite";
import { describe, expect, it } from "vitest";
import { LoginThrottle } from "../../src/auth/login-throttle.ts";

function throttle() {
  const db = new Database(":memory:");
  db.exec(
    "CREATE TABLE login_failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_at INTEGER NOT NULL, locked_until INTEGER NOT NULL DEFAULT 0)",
  );
  return new LoginThrottle(db, {
    backoffAfter: 3,
    lockAfter: 10,
    lockMs: 15 * 60_000,
    windowMs: 15 * 60_000,
  });
}

describe("login throttle", () => {
  it("lets the first failures through, then doubles the wait, then locks out for 15 minutes", () => {
    const t = throttle();
    const keys = ["user:bob"];
    let now = 1_000_000;
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Each attempt comes as soon as it is allowed.
      now += t.waitFor(keys, now);
      t.failed(keys, now);
      waits.push(t.waitFor(keys, now));
    }
    expect(waits).toEqual([0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 15 * 60_000]);
  });

  it("forgets old failures, and a success clears the key", () => {
    const t = throttle();
    let now = 0;
    t.failed(["user:a"], now);
    t.failed(["user:a"], now);
    now += 16 * 60_000;
    t.failed(["user:a"], now);
    expect(t.waitFor(["user:a"], now)).toBe(0); // the first two fell out of the window
    t.failed(["user:a"], now);
    t.failed(["user:a"], now);
    expect(t.waitFor(["user:a"], now)).toBe(1000);
    t.succeeded("user:a");
    expect(t.waitFor(["user:a"], now)).toBe(0);
  });

  it("waits for the longest of the keys: a user name or an address", () => {
    const t = throttle();
    for (let i = 0; i < 4; i++) t.failed(["addr:10.0.0.1", `user:u${i}`], 0);
    expect(t.waitFor(["user:fresh", "addr:10.0.0.1"], 0)).toBe(2000);
    expect(t.waitFor(["user:fresh", "addr:10.0.0.2"], 0)).toBe(0);
  });
});
