import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Caller, Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { UserStore } from "../../src/auth/users.ts";
import { registerCollectionTopic } from "../../src/envs/collection-topic.ts";
import { Environments, listOf } from "../../src/envs/environments.ts";
import type { ListKind } from "../../src/envs/list-mirror.ts";
import { openVault } from "../../src/secrets/vault.ts";
import { openDatabase } from "../../src/store/database.ts";
import { TopicBus } from "../../src/stream/bus.ts";
import { RecordingSink } from "../helpers/bus.ts";
import { FAST_TIMING, FakeEngine, until } from "../helpers/fake-engine.ts";

interface Widget {
  id: string;
  labels: Record<string, string>;
  size: number;
}

/** A list mirror and its topic over the whole server-side path, on a fake engine: events in, frames out. */
describe("a list mirror (images, networks, volumes) and its topic", () => {
  let dir = "";
  let engine: FakeEngine;
  let envs: Environments;
  let bus: TopicBus;
  let admin: Caller;
  let member: Caller;
  let widgets: Widget[];
  let reads = 0;
  let failing = false;
  const WIDGETS: ListKind<Widget> = {
    name: "widgets",
    eventType: "widget",
    read: async () => {
      reads++;
      if (failing) throw new Error("this engine has no widgets");
      return widgets.map((w) => ({ ...w }));
    },
    // size 0: the engine has not finished making it, and will say nothing when it has
    unsettled: (w) => w.size === 0,
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gptest-list-"));
    const db = openDatabase(dir, () => {});
    const teams = new TeamStore(db);
    const users = new UserStore(db);
    const policy = new Policy(teams);
    const a = (await users.create("admin", "list-password", "admin"))!;
    const m = (await users.create("member", "list-password", "operator"))!;
    teams.update(teams.create("red")!.id, { members: [m.id] });
    admin = { user: a, via: "token" };
    member = { user: m, via: "token" };
    widgets = [
      { id: "r1", labels: { "ghostpanel.team": "red" }, size: 1 },
      { id: "b1", labels: { "ghostpanel.team": "blue" }, size: 1 },
    ];
    reads = 0;
    failing = false;
    engine = new FakeEngine();
    envs = new Environments(db, openVault(db, dir), () => engine, FAST_TIMING, [WIDGETS]);
    bus = new TopicBus(policy);
    registerCollectionTopic<Widget, Widget>(
      bus,
      { envs, policy },
      {
        family: "widgets",
        action: "containers:read",
        items: (env) => listOf(env, WIDGETS).list(),
        follow: (l) => envs.onList(WIDGETS, l),
        visible: (audience, w) => audience.sees({ name: "", labels: w.labels }),
        wire: (w) => w,
      },
    );
  });

  afterEach(() => {
    envs.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    envs.start("unix:///fake.sock");
    await until(() => envs.get("local")?.connection.status === "up", 2_000, "up");
  };

  it("follows events with one read per burst, and each audience gets only what it sees", async () => {
    await start();
    const all = new RecordingSink();
    const red = new RecordingSink();
    await bus.subscribe("widgets:local", all, { caller: admin });
    await bus.subscribe("widgets:local", red, { caller: member });
    expect(all.kinds().length).toBe(1);
    expect((all.frames[0]!.d as Widget[]).map((w) => w.id).sort()).toEqual(["b1", "r1"]);
    expect((red.frames[0]!.d as Widget[]).map((w) => w.id)).toEqual(["r1"]);

    const before = reads;
    widgets.push({ id: "r2", labels: { "ghostpanel.team": "red" }, size: 2 });
    widgets[1]!.size = 5;
    for (let i = 0; i < 20; i++) engine.emit({ Type: "widget", Action: "create", id: `x${i}` });
    await until(() => all.frames.length === 3, 2_000, "two changes");
    expect(reads - before).toBeLessThanOrEqual(2);
    expect(all.kinds().slice(1).sort()).toEqual(["upsert:b1", "upsert:r2"]);
    expect(red.kinds().slice(1)).toEqual(["upsert:r2"]);

    // Relabelled away from red: removed for red, changed for the admin.
    widgets[0]!.labels = { "ghostpanel.team": "blue" };
    widgets.splice(2, 1);
    engine.emit({ Type: "widget", Action: "update", id: "r1" });
    await until(() => red.frames.length === 4, 2_000, "red sees both go");
    expect(red.kinds().slice(2).sort()).toEqual(["remove:r1", "remove:r2"]);
    expect(all.kinds().slice(3).sort()).toEqual(["remove:r2", "upsert:r1"]);
  });

  it("a list the engine cannot give leaves the engine up and says why", async () => {
    failing = true;
    await start();
    const mirror = listOf(envs.get("local")!, WIDGETS);
    expect(mirror.ready).toBe(false);
    expect(mirror.error).toContain("no widgets");
    failing = false;
    await mirror.refresh();
    expect(mirror.ready).toBe(true);
    expect(mirror.error).toBeNull();
    expect(mirror.list().length).toBe(2);
  });

  it("reads again, with no event, while an object is half made, and stops once it is whole", async () => {
    await start();
    const all = new RecordingSink();
    await bus.subscribe("widgets:local", all, { caller: admin });
    widgets.push({ id: "s1", labels: {}, size: 0 });
    engine.emit({ Type: "widget", Action: "create", id: "s1" });
    await until(() => all.kinds().includes("upsert:s1"), 2_000, "the half-made one");
    const before = reads;
    // The engine finishes it silently; the mirror finds out on its own.
    widgets[2]!.size = 3;
    await until(() => all.frames.length === 3, 3_000, "the whole one");
    expect((all.frames[2]!.d as Widget).size).toBe(3);
    expect(reads - before).toBeGreaterThanOrEqual(1);
    const settled = reads;
    await Bun.sleep(1_200);
    expect(reads).toBe(settled);
  });
});
