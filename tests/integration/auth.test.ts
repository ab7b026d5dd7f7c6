import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";

describe("first run, login, tokens", () => {
  let p: TestPanel;
  beforeAll(async () => {
    p = await startTestPanel([], false);
  });
  afterAll(async () => {
    await p.stop();
  });

  it("asks for setup until the first admin exists, then refuses a second setup", async () => {
    expect((await p.api("GET", "/api/v1/setup", undefined, "none")).body).toEqual({ needed: true });
    const weak = await p.api("POST", "/api/v1/setup", { username: "admin", password: "short" }, "none");
    expect(weak.status).toBe(400);
    expect(weak.body.error.message).toMatch(/password/);
    const first = await p.api("POST", "/api/v1/setup", ADMIN, "none");
    expect(first.status).toBe(201);
    expect(first.body.user).toMatchObject({ username: "admin", role: "admin" });
    const cookie = first.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/gp_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const again = await p.api(
      "POST",
      "/api/v1/setup",
      { username: "other", password: "another-password" },
      "none",
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_set_up");
    expect((await p.api("GET", "/api/v1/setup", undefined, "none")).body).toEqual({ needed: false });
  });

  it("logs in with the right password only, and the session cookie works", async () => {
    const bad = await p.api(
      "POST",
      "/api/v1/auth/login",
      { username: "admin", password: "wrong-password" },
      "none",
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("bad_credentials");
    const unknown = await p.api(
      "POST",
      "/api/v1/auth/login",
      { username: "nobody", password: "x-password" },
      "none",
    );
    expect(unknown.status).toBe(401);
    const ok = await p.api("POST", "/api/v1/auth/login", ADMIN, "none");
    expect(ok.status).toBe(200);
    p.cookie = sessionCookies(ok);
    const me = await p.api("GET", "/api/v1/auth/me", undefined, "cookie");
    expect(me.body.user.username).toBe("admin");
  });

  it("issues bearer tokens that work on the API, stores only their hash, and revokes them", async () => {
    const made = await p.api("POST", "/api/v1/tokens", { name: "ci" }, "cookie");
    expect(made.status).toBe(201);
    expect(made.body.token).toMatch(/^gpt_/);
    p.token = made.body.token;
    const envs = await p.api("GET", "/api/v1/envs", undefined, "token");
    expect(envs.status).toBe(200);
    const list = await p.api("GET", "/api/v1/tokens", undefined, "token");
    expect(list.body.map((t: { name: string }) => t.name)).toContain("ci");
    expect(JSON.stringify(list.body)).not.toContain(made.body.token);
    const db = await Bun.file(`${p.dataDir}/ghostpanel.db`).bytes();
    const wal = await Bun.file(`${p.dataDir}/ghostpanel.db-wal`)
      .bytes()
      .catch(() => new Uint8Array());
    const raw = Buffer.concat([db, wal]).toString("latin1");
    expect(raw).not.toContain(made.body.token);
    expect(raw).not.toContain(ADMIN.password);
    expect((await p.api("DELETE", `/api/v1/tokens/${made.body.id}`, undefined, "cookie")).status).toBe(204);
    expect((await p.api("GET", "/api/v1/envs", undefined, "token")).status).toBe(401);
  });

  it("answers 401 JSON on every API route and the stream without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/envs"],
      ["GET", "/api/v1/envs/local/containers"],
      ["POST", "/api/v1/envs/local/containers/x/start"],
      ["DELETE", "/api/v1/envs/local/containers/x"],
      ["GET", "/api/v1/envs/local/containers/x/logs"],
      ["POST", "/api/v1/tokens"],
      ["GET", "/api/v1/stream"],
      ["GET", "/api/v1/auth/me"],
    ] as const) {
      const res = await p.api(method, path, undefined, "none");
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
    const bogus = await fetch(`${p.url}/api/v1/envs`, {
      headers: { authorization: "Bearer gpt_not-a-token" },
    });
    expect(bogus.status).toBe(401);
  });

  it("refuses a cookie-authenticated change from another origin", async () => {
    const res = await fetch(`${p.url}/api/v1/tokens`, {
      method: "POST",
      headers: { cookie: p.cookie, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("cross_origin");
  });

  it("ends the session on logout", async () => {
    expect((await p.api("POST", "/api/v1/auth/logout", undefined, "cookie")).status).toBe(204);
    expect((await p.api("GET", "/api/v1/auth/me", undefined, "cookie")).status).toBe(401);
  });

  it("serves security headers and the OpenAPI document", async () => {
    const res = await fetch(`${p.url}/api/openapi.json`);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/v1/envs/{env}/containers", "/api/v1/setup", "/healthz"]),
    );
  });
});

describe("--admin-password-file", () => {
  it("creates the first admin at start", async () => {
    const file = `/tmp/gptest-admin-${process.pid}`;
    await Bun.write(file, "from-a-file-password\n");
    const p = await startTestPanel(["--admin-password-file", file], false);
    try {
      const res = await p.api(
        "POST",
        "/api/v1/auth/login",
        { username: "admin", password: "from-a-file-password" },
        "none",
      );
      expect(res.status).toBe(200);
      expect((await p.api("GET", "/api/v1/setup", undefined, "none")).body.needed).toBe(false);
    } finally {
      await p.stop();
      rmSync(file, { force: true });
    }
  });
});
