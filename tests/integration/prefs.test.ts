import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";

/** Logs in as the UI does: the session cookie and the CSRF token that cookie-authenticated writes send. */
async function login(p: TestPanel, username: string, password: string) {
  const res = await fetch(`${p.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const cookie = sessionCookies(res);
  const headers = {
    cookie,
    origin: p.url,
    "x-csrf-token": /gp_csrf=([^;]+)/.exec(cookie)?.[1] ?? "",
    "content-type": "application/json",
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${p.url}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  return { status: res.status, body: (await res.json()) as any, call };
}

describe("a user's theme, kept on the server for that user alone", () => {
  let p: TestPanel;
  let db: Database;

  beforeAll(async () => {
    p = await startTestPanel();
    db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    for (const username of ["pref-a", "pref-b"]) {
      const made = await p.api("POST", "/api/v1/users", {
        username,
        password: "prefs-password",
        role: "viewer",
      });
      expect(made.status).toBe(201);
    }
  }, 30_000);
  afterAll(async () => {
    db?.close();
    await p?.stop();
  });

  it("starts as system, is set by the user, and comes back on me and on the next login", async () => {
    const a = await login(p, "pref-a", "prefs-password");
    expect(a.body.prefs).toEqual({ theme: "system" });
    const set = await a.call("PUT", "/auth/prefs", { theme: "dark" });
    expect(set).toEqual({ status: 200, body: { prefs: { theme: "dark" } } });
    expect((await a.call("GET", "/auth/me")).body.prefs).toEqual({ theme: "dark" });
    const again = await login(p, "pref-a", "prefs-password");
    expect(again.body.prefs).toEqual({ theme: "dark" });
    // Stored in the database, not in the session.
    const id = a.body.user.id as number;
    expect(db.query("SELECT theme FROM user_prefs WHERE user_id = ?").get(id)).toEqual({ theme: "dark" });
  });

  it("is another user's own: b does not see a's, and a's change leaves b's alone", async () => {
    const b = await login(p, "pref-b", "prefs-password");
    expect(b.body.prefs).toEqual({ theme: "system" });
    expect((await b.call("PUT", "/auth/prefs", { theme: "light" })).status).toBe(200);
    const a = await login(p, "pref-a", "prefs-password");
    expect(a.body.prefs).toEqual({ theme: "dark" });
    expect((await b.call("GET", "/auth/me")).body.prefs).toEqual({ theme: "light" });
    // The body names no user: there is no way to set someone else's.
    const other = await b.call("PUT", "/auth/prefs", { theme: "dark", user_id: a.body.user.id });
    expect(other.status).toBe(200);
    expect((await a.call("GET", "/auth/me")).body.prefs).toEqual({ theme: "dark" });
    expect((await b.call("GET", "/auth/me")).body.prefs).toEqual({ theme: "dark" });
  });

  it("refuses a theme it does not know with a 400 that says why", async () => {
    const a = await login(p, "pref-a", "prefs-password");
    for (const body of [{ theme: "blue" }, {}, { theme: 1 }]) {
      const res = await a.call("PUT", "/auth/prefs", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toMatch(/theme/);
    }
    expect((await a.call("GET", "/auth/me")).body.prefs).toEqual({ theme: "dark" });
  });

  it("audits each change, with who and what", async () => {
    const rows = db
      .query(
        "SELECT username, action, result, status FROM audit_log WHERE action = 'PUT /api/v1/auth/prefs' ORDER BY id",
      )
      .all() as { username: string; result: string; status: number }[];
    expect(rows.filter((r) => r.status === 200).map((r) => r.username)).toEqual([
      "pref-a",
      "pref-b",
      "pref-b",
    ]);
    expect(rows.filter((r) => r.status === 400)).toHaveLength(3);
  });

  it("goes with its user", async () => {
    const b = (await p.api("GET", "/api/v1/users")).body.find(
      (u: { username: string }) => u.username === "pref-b",
    );
    expect((await p.api("DELETE", `/api/v1/users/${b.id}`)).status).toBe(204);
    expect(db.query("SELECT count(*) AS n FROM user_prefs WHERE user_id = ?").get(b.id)).toEqual({ n: 0 });
  });
});
