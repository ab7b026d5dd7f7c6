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
  it("lets the first attempts through, then doubles the wait, then locks out for 15 minutes", () => {
    const t = throttle();
    const keys = ["user:bob"];
    let now = 1_000_000;
    const gaps: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Each attempt comes as soon as it is allowed; a refused one is not counted.
      const from = now;
      for (let wait = t.attempt(keys, now); wait > 0; wait = t.attempt(keys, now)) now += wait;
      gaps.push(now - from);
    }
    expect(gaps).toEqual([0, 0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 64000]);
    expect(t.attempt(keys, now)).toBe(15 * 60_000);
  });

  it("counts an attempt when it starts: attempts side by side stop at the first wait", () => {
    const t = throttle();
    const keys = ["user:bob", "addr:10.0.0.1"];
    // Nothing is answered between them, as when sixty guesses arrive before the first is checked.
    const allowed = Array.from({ length: 60 }, () => t.attempt(keys, 0)).filter((w) => w === 0);
    expect(allowed).toHaveLength(3);
  });

  it("forgets old failures; a success clears the user and gives the address its attempt back", () => {
    const t = throttle();
    let now = 0;
    t.attempt(["user:a"], now);
    t.attempt(["user:a"], now);
    now += 16 * 60_000;
    expect(t.attempt(["user:a"], now)).toBe(0); // the first two fell out of the window
    t.attempt(["user:a"], now);
    expect(t.attempt(["user:a"], now)).toBe(0);
    expect(t.attempt(["user:a"], now)).toBe(1000);
    t.succeeded(["user:a"], now);
    expect(t.attempt(["user:a"], now)).toBe(0);

    const keys = ["user:b", "addr:10.0.0.9"];
    t.attempt(keys, now);
    t.attempt(keys, now);
    t.attempt(keys, now); // the third: the next has to wait
    t.succeeded(keys, now);
    // Two failures left on the address: one more goes through, the one after waits.
    expect(t.attempt(["user:c", "addr:10.0.0.9"], now)).toBe(0);
    expect(t.attempt(["user:d", "addr:10.0.0.9"], now)).toBe(1000);
  });

  it("waits for the longest of the keys: a user name or an address", () => {
    const t = throttle();
    for (let i = 0; i < 3; i++) t.attempt(["addr:10.0.0.1", `user:u${i}`], 0);
    expect(t.attempt(["user:fresh", "addr:10.0.0.1"], 0)).toBe(1000);
    expect(t.attempt(["user:fresh", "addr:10.0.0.2"], 0)).toBe(0);
  });
});
