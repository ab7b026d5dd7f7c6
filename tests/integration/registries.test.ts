import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, PREFIX, TEST_IMAGE } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import {
  dockerAsync,
  dockerConfigFor,
  startRegistry,
  type TestRegistry,
} from "../helpers/registry-server.ts";

/**
 * Registries against Debian's docker-registry on loopback: without auth, with htpasswd (basic) and
 * with token auth (a token server in this process signs the JWTs the registry checks). What the
 * registry answers is real; nothing here stands in for it.
 */

const repo = (hint: string) => `${PREFIX}${hint}`.toLowerCase();

/** Pushes the test image to a registry under `name:tag`, with the registry's login, and forgets the tag here. */
async function pushTo(registry: TestRegistry, name: string, tag: string): Promise<void> {
  const ref = `${registry.host}/${name}:${tag}`;
  const config = dockerConfigFor(registry);
  docker("tag", TEST_IMAGE, ref);
  try {
    await dockerAsync(...config.args, "push", ref);
  } finally {
    docker("rmi", ref);
    config.remove();
  }
}

describe("registries", () => {
  let p: TestPanel;
  let open: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  let operator = "";

  beforeAll(async () => {
    [p, open, basic, token] = await Promise.all([
      startTestPanel(),
      startRegistry(),
      startRegistry({ auth: "htpasswd" }),
      startRegistry({ auth: "token" }),
    ]);
    const made = await p.api("POST", "/api/v1/users", {
      username: "reg-operator",
      password: "operator-password",
      role: "operator",
    });
    expect(made.status).toBe(201);
    operator = await tokenFor(p.url, { username: "reg-operator", password: "operator-password" }, "t");
  }, 60_000);

  afterAll(async () => {
    await p?.stop();
    await Promise.all([open?.stop(), basic?.stop(), token?.stop()]);
  });

  const as = async (bearer: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(p.url + path, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };

  it("refuses addresses the panel should not fetch, each with its reason", async () => {
    const cases: [string, RegExp][] = [
      ["http://registry.example.com:5000", /plain http is allowed only on this machine/],
      ["ftp://127.0.0.1", /only https/],
      [`${open.url}/v2/`, /only scheme:\/\/host\[:port\]/],
      [`http://user:pw@${open.host}`, /not in the address/],
      ["http://[::1", /is not an address/],
    ];
    for (const [url, message] of cases) {
      const res = await p.api("POST", "/api/v1/registries", { name: "bad", url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.message, url).toMatch(message);
    }
    const wrongLogin = await p.api("POST", "/api/v1/registries", {
      name: "nouser",
      url: open.url,
      password: "x",
    });
    expect(wrongLogin.status).toBe(400);
    expect(wrongLogin.body.error.message).toMatch(/needs its username/);
  });

  it("tests a login before and after adding: right, wrong and missing, basic auth", async () => {
    const right = await p.api("POST", "/api/v1/registries/test", {
      url: basic.url,
      username: basic.username,
      password: basic.password,
    });
    expect(right.status).toBe(200);
    expect(right.body.ok).toBe(true);

    const wrong = await p.api("POST", "/api/v1/registries/test", {
      url: basic.url,
      username: basic.username,
      password: "not-the-password",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("registry_login_refused");
    expect(wrong.body.error.message).toMatch(/^the registry refused the login/);

    const none = await p.api("POST", "/api/v1/registries/test", { url: basic.url });
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe("registry_login_required");

    const added = await p.api("POST", "/api/v1/registries", {
      name: `${PREFIX}basic`,
      url: basic.url,
      username: basic.username,
      password: "not-the-password",
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ host: basic.host, username: basic.username, has_password: true });
    const id = added.body.id;
    const refused = await p.api("POST", `/api/v1/registries/${id}/test`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/the registry refused the login/);

    // The right password, given later, is what the next test uses.
    const fixed = await p.api("PUT", `/api/v1/registries/${id}`, { password: basic.password });
    expect(fixed.status).toBe(200);
    expect((await p.api("POST", `/api/v1/registries/${id}/test`)).status).toBe(200);
    // A second registry for the same host would make "which login?" ambiguous.
    const twice = await p.api("POST", "/api/v1/registries", { name: `${PREFIX}again`, url: basic.url });
    expect(twice.status).toBe(409);
  });

  it("tests a login against token auth: a token from the realm with the login, then Bearer", async () => {
    const before = token.tokenRequests;
    const right = await p.api("POST", "/api/v1/registries/test", {
      url: token.url,
      username: token.username,
      password: token.password,
    });
    expect(right.status).toBe(200);
    expect(token.tokenRequests).toBeGreaterThan(before);
    const wrong = await p.api("POST", "/api/v1/registries/test", {
      url: token.url,
      username: token.username,
      password: "not-the-password",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("registry_login_refused");
  });

  it("browses repositories page by page (Link) and their tags, open, basic and token", async () => {
    for (const [registry, login] of [
      [open, false],
      [basic, true],
      [token, true],
    ] as const) {
      const names = [repo("browse-a"), repo("browse-b"), repo("browse-c")];
      for (const name of names) await pushTo(registry, name, "1");
      await pushTo(registry, names[0]!, "2");
      let id: number;
      const known = (await p.api("GET", "/api/v1/registries")).body.find(
        (r: { host: string }) => r.host === registry.host,
      );
      if (known) id = known.id;
      else {
        const added = await p.api("POST", "/api/v1/registries", {
          name: `${PREFIX}browse-${registry.host.split(":")[1]}`,
          url: registry.url,
          ...(login ? { username: registry.username, password: registry.password } : {}),
        });
        expect(added.status).toBe(201);
        id = added.body.id;
      }
      const seen: string[] = [];
      let last: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res = await p.api(
          "GET",
          `/api/v1/registries/${id}/repositories?n=2${last ? `&last=${encodeURIComponent(last)}` : ""}`,
        );
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.repositories.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.repositories);
        last = res.body.next;
        if (!last) break;
      }
      expect(seen.filter((n) => n.startsWith(repo(""))).sort()).toEqual(names.sort());
      const tags = await p.api("GET", `/api/v1/registries/${id}/tags?repository=${names[0]}`);
      expect(tags.status).toBe(200);
      expect(tags.body.tags.sort()).toEqual(["1", "2"]);
      const missing = await p.api("GET", `/api/v1/registries/${id}/tags?repository=${repo("nothing-here")}`);
      expect(missing.status).toBe(404);
      // Operators pick and browse registries; the login stays the admin's.
      expect((await as(operator, "GET", `/api/v1/registries/${id}/repositories`)).status).toBe(200);
    }
  }, 120_000);

  it("never answers, logs or stores a password in the clear; operators see no login at all", async () => {
    const list = await p.api("GET", "/api/v1/registries");
    expect(list.status).toBe(200);
    expect(list.body.length).toBeGreaterThan(0);
    const text = JSON.stringify(list.body);
    for (const secret of [basic.password, token.password, "not-the-password"]) {
      expect(text).not.toContain(secret);
    }
    const mine = await as(operator, "GET", "/api/v1/registries");
    expect(mine.status).toBe(200);
    for (const r of mine.body) expect(Object.keys(r).sort()).toEqual(["host", "id", "name", "url"]);
    expect((await as(operator, "POST", "/api/v1/registries", { name: "x", url: open.url })).status).toBe(403);
    expect((await as(operator, "POST", "/api/v1/registries/test", { url: open.url })).status).toBe(403);

    const audit = await p.api("GET", "/api/v1/audit?limit=1000");
    expect(audit.status).toBe(200);
    const logged = JSON.stringify(audit.body);
    expect(logged).toContain("/api/v1/registries");
    const db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    try {
      const rows = JSON.stringify(db.query("SELECT * FROM audit_log").all());
      const registryRows = JSON.stringify(db.query("SELECT * FROM registries").all());
      for (const secret of [basic.password, token.password, "not-the-password"]) {
        expect(logged).not.toContain(secret);
        expect(rows).not.toContain(secret);
        expect(registryRows).not.toContain(secret);
      }
    } finally {
      db.close();
    }
    // The database file itself (and its WAL) holds the password only sealed.
    for (const file of ["ghostpanel.db", "ghostpanel.db-wal"]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(p.dataDir, file));
      } catch {
        continue;
      }
      expect(bytes.includes(Buffer.from(basic.password)), file).toBe(false);
      expect(bytes.includes(Buffer.from(token.password)), file).toBe(false);
    }
  });

  it("edits and removes a registry, and its sealed login with it", async () => {
    const added = await p.api("POST", "/api/v1/registries", {
      name: `${PREFIX}gone`,
      url: "https://registry.invalid:7443",
      username: "someone",
      password: "sealed-and-gone",
    });
    expect(added.status).toBe(201);
    const renamed = await p.api("PUT", `/api/v1/registries/${added.body.id}`, { name: `${PREFIX}renamed` });
    expect(renamed.body).toMatchObject({ name: `${PREFIX}renamed`, has_password: true });
    const cleared = await p.api("PUT", `/api/v1/registries/${added.body.id}`, { password: "" });
    expect(cleared.body.has_password).toBe(false);
    expect((await p.api("DELETE", `/api/v1/registries/${added.body.id}`)).status).toBe(204);
    expect((await p.api("DELETE", `/api/v1/registries/${added.body.id}`)).status).toBe(404);
    const db = new Database(join(p.dataDir, "ghostpanel.db"), { readonly: true });
    try {
      const owner = `registry:${added.body.id}:password`;
      expect(db.query("SELECT count(*) AS n FROM secrets WHERE owner = ?").get(owner)).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
