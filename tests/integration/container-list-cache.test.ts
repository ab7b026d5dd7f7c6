import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupEngine, docker, eventually, PREFIX, RUN_LABEL, runContainer } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";

// The list is kept as per-container pieces patched by each engine event (src/containers/list-cache.ts):
// after a storm of changes it must still be what the engine says, and each caller's share of it.
const STORM = `${PREFIX}storm-`;
const COUNT = 12;
const ROUNDS = 3;

interface Item {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/** `docker ps -a` of our own storm containers: id → state. */
function enginePs(): Map<string, string> {
  const out = docker(
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    `label=${RUN_LABEL}`,
    "--format",
    "{{.ID}} {{.State}}",
  );
  return new Map(
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );
}

describe("container list cache: patched per change, the same for every caller's view", () => {
  let p: TestPanel;
  const ids: string[] = [];

  beforeAll(async () => {
    p = await startTestPanel();
    for (let i = 0; i < COUNT; i++) ids.push(runContainer(`${STORM}${i}`));
    await eventually(async () => {
      const list = (await p.api("GET", `/api/v1/envs/local/containers?label=${RUN_LABEL}`)).body as Item[];
      return list.length === COUNT ? true : undefined;
    }, 30_000);
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
  });

  it("equals docker ps -a after an event storm (restarts, pauses, stops, a rename, a removal, a new one)", async () => {
    // Read while the storm runs, so that bodies are made from the cache between the changes.
    let reading = true;
    const reader = (async () => {
      let reads = 0;
      while (reading) {
        await p.api("GET", "/api/v1/envs/local/containers");
        await p.api("GET", `/api/v1/envs/local/containers?label=${RUN_LABEL}&state=running`);
        reads++;
      }
      return reads;
    })();
    for (let r = 0; r < ROUNDS; r++) {
      docker("restart", "-t", "0", ...ids.slice(0, 4));
      docker("pause", ...ids.slice(4, 7));
      docker("unpause", ...ids.slice(4, 7));
      docker("stop", "-t", "0", ...ids.slice(7, 9));
      docker("start", ...ids.slice(7, 9));
    }
    // Ends in every state a list shows.
    docker("stop", "-t", "0", ids[1]!);
    docker("pause", ids[4]!);
    docker("rename", ids[9]!, `${STORM}renamed`);
    docker("rm", "-f", ids[10]!);
    const late = runContainer(`${STORM}late`);
    reading = false;
    expect(await reader).toBeGreaterThan(0);

    const expected = enginePs();
    expect(expected.has(late)).toBe(true);
    expect(expected.has(ids[10]!)).toBe(false);
    const panelView = async () => {
      const list = (await p.api("GET", `/api/v1/envs/local/containers?label=${RUN_LABEL}`)).body as Item[];
      return new Map(list.map((c) => [c.id, c.state]));
    };
    await eventually(async () => {
      const seen = await panelView();
      return JSON.stringify([...seen].sort()) === JSON.stringify([...expected].sort()) ? true : undefined;
    }, 20_000);
    // The whole list (cached for admins) holds the same containers as the filtered one.
    const all = (await p.api("GET", "/api/v1/envs/local/containers")).body as Item[];
    const ours = all.filter((c) => c.labels["ghostpanel.test"] === RUN_LABEL.split("=")[1]);
    expect(new Map(ours.map((c) => [c.id, c.state]))).toEqual(expected);
    expect(all.find((c) => c.id === ids[9])?.name).toBe(`${STORM}renamed`);
    // A filter by state agrees with the engine's own.
    const running = (
      (await p.api("GET", `/api/v1/envs/local/containers?label=${RUN_LABEL}&state=running`)).body as Item[]
    ).map((c) => c.id);
    expect(running.sort()).toEqual(
      [...expected]
        .filter(([, s]) => s === "running")
        .map(([id]) => id)
        .sort(),
    );
  }, 120_000);

  it("a non-admin's list holds exactly their team's containers, and follows changes to them", async () => {
    const user = await p.api("POST", "/api/v1/users", {
      username: "cache-viewer",
      password: "cache-viewer-pass",
      role: "operator",
    });
    const team = await p.api("POST", "/api/v1/teams", { name: `${PREFIX}cache-team` });
    const mine = [`${STORM}0`, `${STORM}5`, `${STORM}renamed`];
    expect(
      (
        await p.api("PUT", `/api/v1/teams/${team.body.id}`, {
          members: [user.body.id],
          resources: mine.map((ref) => ({ env: "local", kind: "container", ref })),
        })
      ).status,
    ).toBe(200);
    const token = await tokenFor(p.url, { username: "cache-viewer", password: "cache-viewer-pass" }, "t");
    const list = async (query = "") => {
      const res = await fetch(`${p.url}/api/v1/envs/local/containers${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as Item[]).map((c) => c.name).sort();
    };
    // Asked twice: the second answer comes from the kept body, and must be the same.
    expect(await list()).toEqual([...mine].sort());
    expect(await list()).toEqual([...mine].sort());
    expect(await list(`?name=${encodeURIComponent(`${STORM}5`)}`)).toEqual([`${STORM}5`]);

    docker("stop", "-t", "0", `${STORM}5`);
    await eventually(async () => {
      const res = await fetch(`${p.url}/api/v1/envs/local/containers?state=exited`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const names = ((await res.json()) as Item[]).map((c) => c.name);
      return names.includes(`${STORM}5`) ? names : undefined;
    }, 15_000);
    // Renamed away from the team's name: gone from their list, while the admin still sees it.
    docker("rename", `${STORM}0`, `${STORM}elsewhere`);
    await eventually(async () => ((await list()).includes(`${STORM}0`) ? undefined : true), 15_000);
    expect(await list()).toEqual([`${STORM}5`, `${STORM}renamed`]);
    const admin = (await p.api("GET", "/api/v1/envs/local/containers")).body as Item[];
    expect(admin.some((c) => c.name === `${STORM}elsewhere`)).toBe(true);
  }, 60_000);
});
