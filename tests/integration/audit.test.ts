import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/audit-log.ts";
import { type Action, CHANGING_ACTIONS } from "../../src/auth/actions.ts";
import { cleanupEngine, containerState, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { ADMIN, sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";

// The API answers the log's own rows.
type Row = AuditEntry;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The panel's database, read beside it (WAL lets a reader in while the panel writes). */
function openDb(dataDir: string): Database {
  return new Database(join(dataDir, "ghostpanel.db"), { strict: true });
}

describe("audit log", () => {
  let p: TestPanel;
  let db: Database;

  const lastId = () =>
    (db.query("SELECT max(id) AS id FROM audit_log").get() as { id: number | null }).id ?? 0;
  /** What `run` left in the audit log. */
  async function audited<T>(run: () => Promise<T>): Promise<[T, Row[]]> {
    const from = lastId();
    const out = await run();
    return [out, db.query("SELECT * FROM audit_log WHERE id > ? ORDER BY id").all(from) as Row[]];
  }
  /** Runs one request and expects exactly one entry for it; returns the entry. */
  async function one(method: string, path: string, body?: unknown, auth?: "token" | "cookie" | "none") {
    const [res, rows] = await audited(() => p.api(method, path, body, auth));
    expect(rows, `${method} ${path}`).toHaveLength(1);
    expect(rows[0]!.status).toBe(res.status);
    return { res, entry: rows[0]! };
  }

  beforeAll(async () => {
    p = await startTestPanel([], false);
    db = openDb(p.dataDir);
  });
  afterAll(async () => {
    db.close();
    await p.stop();
    cleanupEngine();
  });

  it("records setup with the admin it made, and a second setup as an error", async () => {
    const { res, entry } = await one("POST", "/api/v1/setup", ADMIN, "none");
    expect(res.status).toBe(201);
    p.cookie = sessionCookies(res);
    expect(entry).toMatchObject({
      action: "POST /api/v1/setup",
      user_id: res.body.user.id,
      username: "admin",
      address: "127.0.0.1",
      result: "ok",
      detail: "",
    });
    expect(Math.abs(entry.at - Date.now())).toBeLessThan(10_000);
    const again = await one("POST", "/api/v1/setup", { username: "other", password: "another-pass" }, "none");
    expect(again.entry).toMatchObject({ result: "error", status: 409, username: "other", user_id: null });
    expect(again.entry.detail).toMatch(/^already_set_up: /);
  });

  it("records token creation (by name and id) and revocation", async () => {
    const made = await one("POST", "/api/v1/tokens", { name: "audit tests" }, "cookie");
    expect(made.res.status).toBe(201);
    p.token = made.res.body.token;
    expect(made.entry).toMatchObject({
      action: "POST /api/v1/tokens",
      target: `name="audit tests" id=${made.res.body.id}`,
      username: "admin",
      result: "ok",
    });
    const spare = await p.api("POST", "/api/v1/tokens", { name: "spare" });
    const revoked = await one("DELETE", `/api/v1/tokens/${spare.body.id}`);
    expect(revoked.entry).toMatchObject({
      action: "DELETE /api/v1/tokens/{id}",
      target: `id=${spare.body.id}`,
      result: "ok",
      status: 204,
    });
    // A handler's ApiError reaches the log once, with the answer's status and reason.
    const missing = await one("DELETE", `/api/v1/tokens/${spare.body.id}`);
    expect(missing.entry).toMatchObject({
      result: "error",
      status: 404,
      detail: `not_found: no token ${spare.body.id}`,
    });
  });

  it("records login attempts with the name tried, failed or not", async () => {
    const wrong = await one(
      "POST",
      "/api/v1/auth/login",
      { username: "admin", password: "wrong-password" },
      "none",
    );
    expect(wrong.entry).toMatchObject({
      action: "POST /api/v1/auth/login",
      username: "admin",
      user_id: null,
      result: "denied",
      status: 401,
      detail: "bad_credentials: wrong username or password",
    });
    const stranger = await one(
      "POST",
      "/api/v1/auth/login",
      { username: "mallory", password: "guess-1234" },
      "none",
    );
    expect(stranger.entry).toMatchObject({ username: "mallory", user_id: null, result: "denied" });
    const ok = await one("POST", "/api/v1/auth/login", ADMIN, "none");
    expect(ok.entry).toMatchObject({
      username: "admin",
      user_id: ok.res.body.user.id,
      result: "ok",
      status: 200,
    });
    p.cookie = sessionCookies(ok.res);
    const bye = await one("POST", "/api/v1/auth/logout", undefined, "cookie");
    expect(bye.entry).toMatchObject({ action: "POST /api/v1/auth/logout", username: "admin", result: "ok" });
  });

  it("records container actions with the engine and the container", async () => {
    const name = uniqueName("audit");
    runContainer(name);
    const stop = await one("POST", `/api/v1/envs/local/containers/${name}/stop?t=0`);
    expect(stop.res.status).toBe(204);
    expect(containerState(name)).toBe("exited");
    expect(stop.entry).toMatchObject({
      action: "POST /api/v1/envs/{env}/containers/{id}/{action}",
      env: "local",
      target: `id=${name} action=stop`,
      result: "ok",
    });
    const start = await one("POST", `/api/v1/envs/local/containers/${name}/start`);
    expect(start.entry).toMatchObject({ env: "local", target: `id=${name} action=start`, status: 204 });
    await eventually(() => (containerState(name) === "running" ? true : undefined));
  });

  it("records refusals: bad input, unauthenticated, cross-site, body too large, no such route", async () => {
    const badUrl = await one("POST", "/api/v1/envs", { name: "nowhere", url: "ftp://example" });
    expect(badUrl.entry).toMatchObject({ target: "name=nowhere", result: "error", status: 400 });
    expect(badUrl.entry.detail).toMatch(/^invalid_url: /);
    const invalid = await one("POST", "/api/v1/tokens", {});
    expect(invalid.entry).toMatchObject({ result: "error", status: 400, username: "admin" });
    const anonymous = await one("POST", "/api/v1/envs/local/containers/x/start", undefined, "none");
    expect(anonymous.entry).toMatchObject({ result: "denied", status: 401, user_id: null, env: "local" });

    p.cookie = sessionCookies(await p.api("POST", "/api/v1/auth/login", ADMIN, "none"));
    const [crossSite, crossRows] = await audited(() =>
      fetch(`${p.url}/api/v1/tokens`, {
        method: "POST",
        headers: { cookie: p.cookie, origin: "https://evil.example", "content-type": "application/json" },
        body: JSON.stringify({ name: "x" }),
      }),
    );
    expect(crossSite.status).toBe(403);
    expect(crossRows).toHaveLength(1);
    expect(crossRows[0]).toMatchObject({ result: "denied", status: 403, username: "admin" });
    expect(crossRows[0]!.detail).toMatch(/^cross_origin: /);

    const [big, bigRows] = await audited(() =>
      fetch(`${p.url}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json" },
        body: "x".repeat(2 * 1024 * 1024),
      }),
    );
    expect(big.status).toBe(413);
    expect(bigRows).toHaveLength(1);
    expect(bigRows[0]).toMatchObject({ action: "POST /api/v1/tokens", result: "error", status: 413 });

    const lost = await one("PATCH", "/api/v1/nowhere");
    expect(lost.entry).toMatchObject({
      action: "PATCH (no route)",
      target: "path=/api/v1/nowhere",
      status: 404,
    });
  });

  it("leaves exactly one entry for every changing route the API declares, and none for reads", async () => {
    const doc = (await p.api("GET", "/api/openapi.json")).body as {
      paths: Record<string, Record<string, { "x-ghostpanel-action"?: string }>>;
    };
    // Ids nothing has: each route answers (mostly 400 or 404) without changing anything that matters.
    const fill = (path: string) =>
      path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === "env" ? "local" : name === "action" ? "start" : "999999",
      );
    let changing = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (path === "/api/v1/auth/logout") continue; // ends the session the sweep runs on
        const [res, rows] = await audited(() => p.api(method, fill(path), method === "GET" ? undefined : {}));
        // A GET that reaches secrets (a volume's files) is audited like a change.
        const action = methods[method.toLowerCase()]?.["x-ghostpanel-action"] ?? "";
        if (method === "GET" && !CHANGING_ACTIONS.has(action as Action)) {
          expect(rows, `GET ${path}`).toEqual([]);
          continue;
        }
        changing++;
        expect(rows, `${method} ${path}`).toHaveLength(1);
        expect(rows[0]).toMatchObject({ action: `${method} ${path}`, status: res.status });
      }
    }
    expect(changing).toBeGreaterThanOrEqual(12);
    const [, rows] = await audited(async () => {
      for (const path of ["/", "/healthz", "/metrics", "/api/v1/audit", "/api/v1/audit/export?format=csv"])
        await p.api("GET", path);
      await fetch(`${p.url}/api/v1/envs`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${p.token}` },
      });
    });
    expect(rows).toEqual([]);
  });

  it("filters, newest first, a page at a time", async () => {
    await p.api("POST", "/api/v1/auth/login", { username: "filter-probe", password: "nope-nope" }, "none");
    const list = async (query: string) => {
      const res = await p.api("GET", `/api/v1/audit?${query}`);
      expect(res.status, query).toBe(200);
      return res.body as Row[];
    };
    const all = await list("limit=1000");
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => b - a));
    expect(all.length).toBe(lastId());

    expect((await list("user=FILTER-PROBE")).map((e) => e.action)).toEqual(["POST /api/v1/auth/login"]);
    const denied = await list("result=denied");
    expect(denied.length).toBeGreaterThan(2);
    expect(denied.every((e) => e.result === "denied")).toBe(true);
    const local = await list("env=local");
    expect(local.length).toBeGreaterThan(0);
    expect(local.every((e) => e.env === "local")).toBe(true);
    const tokens = await list("action=/api/v1/tokens");
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.every((e) => e.action.includes("/api/v1/tokens"))).toBe(true);
    expect((await list("q=audit%20tests")).map((e) => e.target)).toEqual([
      expect.stringContaining("audit tests"),
    ]);
    expect(await list("q=%25")).toEqual([]); // % is a character here, not a wildcard
    expect((await list("user=admin&result=ok&action=tokens")).every((e) => e.username === "admin")).toBe(
      true,
    );

    const middle = all[Math.floor(all.length / 2)]!;
    const since = await list(`since=${middle.at}`);
    expect(since.every((e) => e.at >= middle.at)).toBe(true);
    const until = await list(`until=${new Date(middle.at).toISOString()}&limit=1000`);
    expect(until.every((e) => e.at <= middle.at)).toBe(true);
    expect(since.length + until.length).toBeGreaterThanOrEqual(all.length);

    const first = await list("limit=5");
    const next = await list(`limit=5&before=${first[4]!.id}`);
    expect([...first, ...next]).toEqual(all.slice(0, 10));

    for (const bad of ["limit=0", "limit=1001", "result=maybe", "since=yesterday", "before=-1"]) {
      expect((await p.api("GET", `/api/v1/audit?${bad}`)).status, bad).toBe(400);
    }
  });

  it("exports the same entries as JSON lines and as CSV, spreadsheet formulas made text", async () => {
    for (const username of ["=HYPERLINK(1)", "@SUM(1)\r\nnext, line"])
      await p.api("POST", "/api/v1/auth/login", { username, password: "formula-1" }, "none");
    await p.api("POST", "/api/v1/tokens", { name: 'quoted "name", with comma\nand a line' });
    const entries = (await p.api("GET", "/api/v1/audit?limit=1000")).body as Row[];
    const get = (query: string) =>
      fetch(`${p.url}/api/v1/audit/export?${query}`, { headers: { authorization: `Bearer ${p.token}` } });

    const jsonl = await get("format=jsonl");
    expect(jsonl.headers.get("content-type")).toMatch(/^application\/jsonl/);
    expect(jsonl.headers.get("content-disposition")).toMatch(
      /attachment; filename="ghostpanel-audit-.*\.jsonl"/,
    );
    const lines = (await jsonl.text()).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l))).toEqual(entries);

    const csv = await get("format=csv");
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const [header, ...records] = parseCsv(await csv.text());
    expect(header).toEqual(Object.keys(entries[0]!));
    expect(records).toHaveLength(entries.length);
    records.forEach((r, i) => {
      const e = entries[i]!;
      const expected = Object.values(e).map((v) => String(v ?? ""));
      expected[1] = new Date(e.at).toISOString();
      if (/^[=+\-@]/.test(e.username)) expected[3] = `'${e.username}`;
      expect(r).toEqual(expected);
    });
    expect(records.some((r) => r[3] === "'=HYPERLINK(1)")).toBe(true);
    expect(records.some((r) => r[3] === "'@SUM(1)\r\nnext, line")).toBe(true);
    expect(records.some((r) => r[7]!.includes('quoted \\"name\\", with comma\\nand a line'))).toBe(true);

    const filtered = parseCsv(await (await get("format=csv&result=denied&user=admin")).text());
    expect(filtered.slice(1).map((r) => r[0])).toEqual(
      entries.filter((e) => e.result === "denied" && e.username === "admin").map((e) => String(e.id)),
    );
    expect((await get("format=xml")).status).toBe(400);
  });

  it("reads and sets the retention, within 1 to 3650 days", async () => {
    expect((await p.api("GET", "/api/v1/settings/audit")).body).toEqual({ retention_days: 90 });
    const set = await one("PUT", "/api/v1/settings/audit", { retention_days: 30 });
    expect(set.res.body).toEqual({ retention_days: 30 });
    expect(set.entry).toMatchObject({ action: "PUT /api/v1/settings/audit", result: "ok" });
    for (const retention_days of [0, 3651, 1.5, "7"]) {
      expect((await one("PUT", "/api/v1/settings/audit", { retention_days })).res.status).toBe(400);
    }
    expect((await p.api("GET", "/api/v1/settings/audit")).body).toEqual({ retention_days: 30 });
  });
});

describe("audit retention", () => {
  it("prunes at start and when the retention is shortened", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gptest-audit-"));
    try {
      let p = await startTestPanel([], true, { dataDir });
      await p.stop();
      const db = openDb(dataDir);
      const insert = db.query(
        "INSERT INTO audit_log (at, action, target, result, status) VALUES (?, 'POST /old', ?, 'ok', 204)",
      );
      for (const days of [100, 40, 10]) insert.run(Date.now() - days * DAY_MS, `age=${days}`);
      const ages = () =>
        (db.query("SELECT target FROM audit_log WHERE action = 'POST /old' ORDER BY id").all() as Row[]).map(
          (r) => r.target,
        );

      p = await startTestPanel([], true, { dataDir });
      try {
        expect(ages()).toEqual(["age=40", "age=10"]); // the default keeps 90 days
        await p.api("PUT", "/api/v1/settings/audit", { retention_days: 30 });
        expect(ages()).toEqual(["age=10"]);
        expect((await p.api("GET", "/api/v1/audit?q=age%3D")).body.map((e: Row) => e.target)).toEqual([
          "age=10",
        ]);
      } finally {
        await p.stop();
        db.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; records end with CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (text[end + 1] === '"') {
        field += text.slice(i + 1, end + 1);
        i = end + 1;
        continue; // the doubled quote opens the next piece of the same field
      }
      field += text.slice(i + 1, end);
      i = end + 1;
    } else if (text[i] === ",") {
      record.push(field);
      field = "";
      i++;
    } else if (text.startsWith("\r\n", i)) {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 2;
    } else {
      field += text[i];
      i++;
    }
  }
  expect(field).toBe("");
  expect(record).toEqual([]);
  return records;
}
