import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../../src/auth/policy.ts";
import { Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { UserStore } from "../../src/auth/users.ts";
import { registerContainerTopic } from "../../src/containers/topic.ts";
import { Environments } from "../../src/envs/environments.ts";
import { openVault } from "../../src/secrets/vault.ts";
import { openDatabase } from "../../src/store/database.ts";
import { TopicBus } from "../../src/stream/bus.ts";
import { RecordingSink } from "../helpers/bus.ts";
import { FAST_TIMING, FakeEngine, until } from "../helpers/fake-engine.ts";

/**
 * The containers topic over the whole server-side path — fake engine, connection, mirror, registry,
 * topic, bus — with no real engine and no network: events in, frames out.
 */
describe("containers:<env> frames from engine events", () => {
  let dir = "";
  let engine: FakeEngine;
  let envs: Environments;
  let bus: TopicBus;
  let admin: Caller;
  let member: Caller;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gptest-topic-"));
    const db = openDatabase(dir, () => {});
    const teams = new TeamStore(db);
    const users = new UserStore(db);
    const policy = new Policy(teams);
    const a = (await users.create("admin", "topic-password", "admin"))!;
    const m = (await users.create("member", "topic-password", "operator"))!;
    const team = teams.create("red")!;
    teams.update(team.id, { members: [m.id] });
    admin = { user: a, via: "token" };
    member = { user: m, via: "token" };
    engine = new FakeEngine();
    engine.containers.set("r1", {
      Id: "r1",
      Name: "red-one",
      State: "running",
      Labels: { "ghostpanel.team": "red" },
    });
    engine.containers.set("b1", {
      Id: "b1",
      Name: "blue-one",
      State: "running",
      Labels: { "ghostpanel.team": "blue" },
    });
    envs = new Environments(db, openVault(db, dir), () => engine, FAST_TIMING);
    bus = new TopicBus(policy);
    registerContainerTopic(bus, { envs, policy });
    envs.start("unix:///fake.sock");
    await until(() => envs.get("local")?.connection.status === "up", 2_000, "up");
  });

  afterEach(() => {
    envs.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends a snapshot, then one frame per change, and each audience only what it sees", async () => {
    const all = new RecordingSink();
    const red = new RecordingSink();
    await bus.subscribe("containers:local", all, { caller: admin });
    await bus.subscribe("containers:local", red, { caller: member });
    expect((all.frames[0]!.d as { id: string }[]).map((c) => c.id).sort()).toEqual(["b1", "r1"]);
    expect((red.frames[0]!.d as { id: string }[]).map((c) => c.id)).toEqual(["r1"]);

    engine.containers.set("r2", {
      Id: "r2",
      Name: "red-two",
      State: "created",
      Labels: { "ghostpanel.team": "red" },
    });
    engine.emit({ Action: "create", id: "r2" });
    engine.containers.set("b2", {
      Id: "b2",
      Name: "blue-two",
      State: "created",
      Labels: { "ghostpanel.team": "blue" },
    });
    engine.emit({ Action: "create", id: "b2" });
    engine.containers.delete("b1");
    engine.emit({ Action: "destroy", id: "b1" });
    await until(() => all.frames.length >= 4, 2_000, "admin frames");
    expect(all.kinds().slice(1).sort()).toEqual(["remove:b1", "upsert:b2", "upsert:r2"]);
    await until(() => red.frames.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(red.kinds().slice(1)).toEqual(["upsert:r2"]);
  });

  it("after the engine comes back, sends what changed while it was away, no more", async () => {
    const sink = new RecordingSink();
    await bus.subscribe("containers:local", sink, { caller: admin });
    engine.drop();
    await until(() => envs.get("local")?.connection.status === "down", 2_000, "down");
    engine.containers.get("r1")!.State = "exited";
    const mark = sink.frames.length;
    engine.restore();
    await until(() => envs.get("local")?.connection.status === "up", 2_000, "up again");
    await until(() => sink.frames.length > mark, 2_000, "resync frame");
    await new Promise((r) => setTimeout(r, 20));
    const after = sink.frames.slice(mark);
    expect(after.map((f) => f.k)).toEqual(["upsert"]);
    expect(after[0]!.d).toMatchObject({ id: "r1", state: "exited" });
  });
});
