import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestPanel, type TestPanel } from "../helpers/panel.ts";

/** Guesses sent side by side, as an attacker would: none waits for another's answer. */
async function guessAll(p: TestPanel, path: string, bodies: unknown[], cookie = "") {
  const csrf = /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "";
  return Promise.all(
    bodies.map(async (body) => {
      const res = await fetch(p.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

describe("password guesses in parallel", () => {
  let p: TestPanel;
  beforeAll(async () => {
    // Sixty refused guesses would also use up the address's allowance for refusals (60 a minute),
    // and this is about the login throttle alone.
    p = await startTestPanel(["--anonymous-limit", "0"]);
  });
  afterAll(async () => {
    await p.stop();
  });

  it("counts every parallel login guess: three are checked, the right one among the rest refused", async () => {
    const bodies = Array.from({ length: 60 }, (_, i) =>
      i === 30 ? ADMIN : { username: ADMIN.username, password: `wrong-guess-${i}` },
    );
    const statuses = await guessAll(p, "/api/v1/auth/login", bodies);
    // 401 and 200 are answers of a password check; 429 was refused before any.
    const checked = statuses.filter((s) => s !== 429);
    // The third failure makes the next attempt wait: only three are let through.
    expect(checked).toEqual([401, 401, 401]);
    expect(statuses[30]).toBe(429);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60 - checked.length);
    // The lockout holds: the right password, alone and before the wait is over, is still refused.
    // (Sixty argon2 checks on a busy machine can outlast the first 1 s wait: then there is none.)
    const db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    const waits = db.query("SELECT locked_until FROM login_failures WHERE failures = 3").all() as {
      locked_until: number;
    }[];
    db.close();
    expect(waits.length).toBeGreaterThan(0);
    const until = Math.max(...waits.map((w) => w.locked_until));
    const after = await fetch(`${p.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    if (Date.now() < until - 50) {
      expect(after.status).toBe(429);
      expect(Number(after.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } else expect(after.status).not.toBe(401);
  });

  it("throttles the current password of a password change the same way", async () => {
    // The earlier test left this address waiting: start from a clean slate.
    const db = new Database(join(p.dataDir, "ghostpanel.db"));
    db.exec("DELETE FROM login_failures");
    db.close();
    const login = await fetch(`${p.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0]!)
      .join("; ");
    const bodies = Array.from({ length: 40 }, (_, i) => ({
      current_password: i === 20 ? ADMIN.password : `wrong-current-${i}`,
      new_password: "a-new-password-here",
    }));
    const statuses = await guessAll(p, "/api/v1/auth/password", bodies, cookie);
    const checked = statuses.filter((s) => s !== 429);
    expect(checked).toEqual([403, 403, 403]);
    expect(statuses[20]).toBe(429);
    // Nothing changed: the old password is still the password, once the wait is over.
    await Bun.sleep(1_100);
    const again = await fetch(`${p.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    expect(again.status).toBe(200);
  });
});
