import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

const PASSWORD = "session-password";

describe("sessions, CSRF, revocation and headers", () => {
  let p: TestPanel;

  const login = async (username: string, password = PASSWORD) =>
    fetch(`${p.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
  const session = async (username: string, password = PASSWORD) => {
    const res = await login(username, password);
    expect(res.status).toBe(200);
    const cookie = sessionCookies(res);
    return { cookie, csrf: /gp_csrf=([^;]+)/.exec(cookie)![1]! };
  };
  const asSession = (s: { cookie: string; csrf?: string }, method: string, path: string, body?: unknown) =>
    fetch(p.url + path, {
      method,
      headers: {
        cookie: s.cookie,
        ...(s.csrf ? { "x-csrf-token": s.csrf } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const sessionsTable = (run: (db: Database) => void) => {
    const db = new Database(join(p.dataDir, "ghostpanel.db"));
    try {
      run(db);
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    p = await startTestPanel();
    for (const username of ["s-user", "s-other", "s-role"]) {
      expect(
        (await p.api("POST", "/api/v1/users", { username, password: PASSWORD, role: "operator" })).status,
      ).toBe(201);
    }
  });

  afterAll(async () => {
    await p?.stop();
  });

  it("sets the session cookie HttpOnly and SameSite=Strict, the CSRF cookie readable by the page", async () => {
    const res = await login("s-user");
    const cookies = res.headers.getSetCookie();
    const sessionCookie = cookies.find((c) => c.startsWith("gp_session="))!;
    const csrfCookie = cookies.find((c) => c.startsWith("gp_csrf="))!;
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=Strict/i);
    expect(csrfCookie).not.toMatch(/HttpOnly/i);
    expect(csrfCookie).toMatch(/SameSite=Strict/i);
  });

  it("refuses cookie-authenticated changes without the CSRF token, with a wrong one, or from another origin", async () => {
    const s = await session("s-user");
    const body = { name: "csrf" };
    const missing = await asSession({ cookie: s.cookie }, "POST", "/api/v1/tokens", body);
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("csrf");
    expect((await asSession({ ...s, csrf: "forged" }, "POST", "/api/v1/tokens", body)).status).toBe(403);
    const foreign = await fetch(`${p.url}/api/v1/tokens`, {
      method: "POST",
      headers: {
        cookie: s.cookie,
        "x-csrf-token": s.csrf,
        origin: "https://evil.example",
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    expect(foreign.status).toBe(403);
    // Another session's token is no good either: it is bound to its own session.
    const other = await session("s-other");
    expect(
      (await asSession({ cookie: s.cookie, csrf: other.csrf }, "POST", "/api/v1/tokens", body)).status,
    ).toBe(403);
    expect((await asSession(s, "POST", "/api/v1/tokens", body)).status).toBe(201);
    // Reads need no token; bearer callers need none (no cookie: nothing to forge).
    expect((await asSession({ cookie: s.cookie }, "GET", "/api/v1/auth/me")).status).toBe(200);
    expect((await p.api("POST", "/api/v1/tokens", body)).status).toBe(201);
  });

  it("ends the session on logout", async () => {
    const s = await session("s-user");
    expect((await asSession(s, "POST", "/api/v1/auth/logout")).status).toBe(204);
    expect((await asSession(s, "GET", "/api/v1/auth/me")).status).toBe(401);
  });

  it("a password change ends the user's other sessions, keeps this one, and swaps the passwords", async () => {
    const a = await session("s-other");
    const b = await session("s-other");
    const wrong = await asSession(a, "POST", "/api/v1/auth/password", {
      current_password: "not-it-at-all",
      new_password: "another-password",
    });
    expect(wrong.status).toBe(403);
    const changed = await asSession(a, "POST", "/api/v1/auth/password", {
      current_password: PASSWORD,
      new_password: "another-password",
    });
    expect(changed.status).toBe(204);
    expect((await asSession(a, "GET", "/api/v1/auth/me")).status).toBe(200);
    expect((await asSession(b, "GET", "/api/v1/auth/me")).status).toBe(401);
    expect((await login("s-other")).status).toBe(401);
    expect((await login("s-other", "another-password")).status).toBe(200);
  });

  it("ends a session left idle too long, and any session past its absolute lifetime", async () => {
    const idle = await session("s-user");
    const old = await session("s-user");
    expect((await asSession(idle, "GET", "/api/v1/auth/me")).status).toBe(200);
    const hash = (cookie: string) =>
      new Bun.CryptoHasher("sha256").update(/gp_session=([^;]+)/.exec(cookie)![1]!).digest("hex");
    // As if the clock had moved on: two hours without use; and a login from yesterday.
    sessionsTable((db) => {
      db.query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?").run(
        Date.now() - 2 * 3600_000,
        hash(idle.cookie),
      );
      db.query("UPDATE sessions SET expires_at = ? WHERE token_hash = ?").run(
        Date.now() - 1,
        hash(old.cookie),
      );
    });
    expect((await asSession(idle, "GET", "/api/v1/auth/me")).status).toBe(401);
    expect((await asSession(old, "GET", "/api/v1/auth/me")).status).toBe(401);
  });

  it("a new role ends the user's sessions: they were granted under the old one", async () => {
    const s = await session("s-role");
    const users = (await p.api("GET", "/api/v1/users")).body as { id: number; username: string }[];
    const id = users.find((u) => u.username === "s-role")!.id;
    expect((await p.api("PUT", `/api/v1/users/${id}`, { role: "viewer" })).status).toBe(200);
    expect((await asSession(s, "GET", "/api/v1/auth/me")).status).toBe(401);
  });

  it("never leaves the panel without an admin", async () => {
    const me = (await p.api("GET", "/api/v1/auth/me")).body.user as { id: number };
    const demote = await p.api("PUT", `/api/v1/users/${me.id}`, { role: "viewer" });
    expect(demote.status).toBe(409);
    expect((await p.api("DELETE", `/api/v1/users/${me.id}`)).status).toBe(409);
  });

  it("closes a live stream once its token is revoked", async () => {
    const made = await p.api("POST", "/api/v1/tokens", { name: "stream" });
    const client = new StreamClient(p.url, made.body.token, ["envs"]);
    await client.open();
    await client.next((f) => f.t === "envs");
    expect((await p.api("DELETE", `/api/v1/tokens/${made.body.id}`)).status).toBe(204);
    const deadline = Date.now() + 15_000;
    while (client.closeCode === undefined && Date.now() < deadline) await Bun.sleep(100);
    expect(client.closeCode).toBe(4401);
  }, 20_000);

  it("sends security headers on pages and on API answers", async () => {
    for (const path of ["/", "/api/v1/setup", "/healthz"]) {
      const res = await fetch(p.url + path);
      await res.arrayBuffer();
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  // Last: it locks this test's address out.
  it("slows down, then refuses, repeated failed logins per user and per address", async () => {
    // The wrong password tried above counts against this address too: start from a clean slate.
    sessionsTable((db) => db.exec("DELETE FROM login_failures"));
    for (let i = 0; i < 3; i++) expect((await login("s-user", "wrong-password")).status).toBe(401);
    const locked = await login("s-user");
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Locked means locked: not even the right password gets through, and other names from this
    // address wait too.
    expect((await login("s-other", "another-password")).status).toBe(429);
    await Bun.sleep(1_100);
    expect((await login("s-user")).status).toBe(200);
  });
});
