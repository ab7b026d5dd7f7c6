import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";

/** An engine's address (a socket path, an internal host) is for those who manage engines. */
describe("engine addresses", () => {
  let p: TestPanel;
  let viewer = "";

  beforeAll(async () => {
    p = await startTestPanel();
    expect(
      (await p.api("POST", "/api/v1/users", { username: "looker", password: "looker-pass", role: "viewer" }))
        .status,
    ).toBe(201);
    viewer = await tokenFor(p.url, { username: "looker", password: "looker-pass" }, "looker");
  });
  afterAll(async () => {
    await p?.stop();
  });

  const get = async (token: string, path: string) =>
    (await fetch(p.url + path, { headers: { authorization: `Bearer ${token}` } })).json();

  it("shows admins where each engine is, and others only its name and status", async () => {
    const mine = (await get(p.token, "/api/v1/envs")) as { id: string; url: string }[];
    expect(mine.find((e) => e.id === "local")?.url).toMatch(/^unix:\/\//);
    const theirs = (await get(viewer, "/api/v1/envs")) as { id: string; url: string; status: string }[];
    expect(theirs.find((e) => e.id === "local")).toMatchObject({ url: "", status: "up" });
    expect(await get(viewer, "/api/v1/envs/local")).toMatchObject({ id: "local", url: "" });
    expect((await get(p.token, "/api/v1/envs/local")).url).toMatch(/^unix:\/\//);

    for (const [token, url] of [
      [viewer, ""],
      [p.token, expect.stringMatching(/^unix:\/\//)],
    ] as const) {
      const s = new StreamClient(p.url, token, ["envs"]);
      await s.open();
      const frame = await s.next((f) => f.t === "envs" && f.k === "envs");
      s.close();
      expect((frame.d as { id: string; url: string }[]).find((e) => e.id === "local")?.url).toEqual(url);
    }
  });
});
