import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/audit/audit-log.ts";
import { auditRequests } from "../../src/audit/middleware.ts";
import type { AppEnv } from "../../src/http/context.ts";
import { RouteTable } from "../../src/http/route-table.ts";
import { openDatabase } from "../../src/store/database.ts";

describe("audit middleware", () => {
  const dir = mkdtempSync(join(tmpdir(), "gptest-audit-unit-"));
  const db = openDatabase(dir);
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records a safe-method route whose action changes things (a command WebSocket is a GET)", async () => {
    const app = new Hono<AppEnv>();
    const routes = new RouteTable(app, () => {});
    const log = new AuditLog(db);
    app.use("*", auditRequests(log, routes));
    const spec = { tag: "t", summary: "s", responses: {} } as const;
    // Declared after the middleware, as every route is.
    routes.add({ ...spec, method: "get", path: "/x/{env}/exec/{id}", policy: "containers:exec" }, (c) =>
      c.body(null, 204),
    );
    routes.add({ ...spec, method: "get", path: "/x/{env}/logs/{id}", policy: "containers:read" }, (c) =>
      c.body(null, 204),
    );
    expect((await app.request("/x/local/exec/web")).status).toBe(204);
    expect((await app.request("/x/local/logs/web")).status).toBe(204);
    expect(log.query({}, 10)).toEqual([
      expect.objectContaining({
        action: "GET /x/{env}/exec/{id}",
        env: "local",
        target: "id=web",
        result: "ok",
      }),
    ]);
  });
});
