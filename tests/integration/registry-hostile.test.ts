import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel } from "../helpers/panel.ts";

/**
 * Registries that misbehave, as stand-ins on loopback (a real registry does none of this): the
 * panel fetches what an admin typed, so it must not be led elsewhere, flooded or held.
 */
describe("a registry that misbehaves", () => {
  let p: TestPanel;
  let elsewhere: ReturnType<typeof Bun.serve>;
  let hostile: ReturnType<typeof Bun.serve>;
  const reached: string[] = [];
  /** what the stand-in does with the panel's GET /v2/ */
  let hostileMode = "";

  beforeAll(async () => {
    p = await startTestPanel();
    elsewhere = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        reached.push(new URL(req.url).pathname);
        return Response.json({});
      },
    });
    hostile = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/v2/" && req.headers.get("user-agent") === "GhostPanel") {
          if (hostileMode === "redirect-away")
            return new Response(null, {
              status: 307,
              headers: { location: `http://127.0.0.1:${elsewhere.port}/v2/` },
            });
          if (hostileMode === "redirect-here")
            return new Response(null, { status: 307, headers: { location: "/v2/moved" } });
          if (hostileMode === "realm-away")
            return new Response(null, {
              status: 401,
              headers: { "www-authenticate": 'Bearer realm="http://10.255.255.1/token",service="x"' },
            });
        }
        if (path === "/v2/moved") return Response.json({});
        if (path === "/v2/_catalog") {
          // A little over the 1 MiB the panel reads.
          const names = Array.from({ length: 60_000 }, (_, i) => `repository-name-${i}`);
          return Response.json({ repositories: names });
        }
        return new Response(null, { status: 404 });
      },
    });
  });
  afterAll(async () => {
    await p?.stop();
    await elsewhere?.stop(true);
    await hostile?.stop(true);
  });

  const test = (mode: string) => {
    hostileMode = mode;
    return p.api("POST", "/api/v1/registries/test", { url: `http://127.0.0.1:${hostile.port}` });
  };

  it("is not followed to another address, and says where it wanted to go", async () => {
    const res = await test("redirect-away");
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("registry_redirect");
    expect(res.body.error.message).toContain(`127.0.0.1:${elsewhere.port}`);
    expect(reached).toEqual([]);
  });

  it("is followed on its own address", async () => {
    expect((await test("redirect-here")).status).toBe(200);
  });

  it("cannot send the panel to a token realm over plain http on the network", async () => {
    const res = await test("realm-away");
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/plain http is allowed only on this machine/);
  });

  it("cannot make the panel read an answer past 1 MiB", async () => {
    const added = await p.api("POST", "/api/v1/registries", {
      name: "hostile",
      url: `http://127.0.0.1:${hostile.port}`,
    });
    expect(added.status).toBe(201);
    const res = await p.api("GET", `/api/v1/registries/${added.body.id}/repositories`);
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/larger than 1048576 bytes/);
  });
});
