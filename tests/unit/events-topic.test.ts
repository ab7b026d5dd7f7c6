import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Caller, Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { UserStore } from "../../src/auth/users.ts";
import { Environments } from "../../src/envs/environments.ts";
import { NETWORKS } from "../../src/networks/kind.ts";
import type { EngineEventItem } from "../../src/protocol/views.ts";
import { openVault } from "../../src/secrets/vault.ts";
import { openDatabase } from "../../src/store/database.ts";
import { TopicBus } from "../../src/stream/bus.ts";
import { registerEventsTopic } from "../../src/system/events-topic.ts";
import { RecordingSink } from "../helpers/bus.ts";
import { FAST_TIMING, FakeEngine, until } from "../helpers/fake-engine.ts";

class EventSink extends RecordingSink {
  events(): string[] {
    return this.frames
      .filter((f) => f.k === "event")
      .map(
        (f) =>
          `${(f.d as EngineEventItem).type}:${(f.d as EngineEventItem).action}:${(f.d as EngineEventItem).id}`,
      );
  }
}

const RED = { "ghostpanel.team": "red" };
const BLUE = { "ghostpanel.team": "blue" };

/** The events topic over the whole server-side path, on a fake engine: engine events in, frames per audience out. */
describe("the events topic", () => {
  let dir = "";
  let engine: FakeEngine;
  let envs: Environments;
  let bus: TopicBus;
  let admin: Caller;
  let member: Caller;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gptest-events-"));
    const db = openDatabase(dir, () => {});
    const teams = new TeamStore(db);
    const users = new UserStore(db);
    const policy = new Policy(teams);
    const a = (await users.create("admin", "events-password", "admin"))!;
    const m = (await users.create("member", "events-password", "viewer"))!;
    teams.update(teams.create("red")!.id, { members: [m.id] });
    admin = { user: a, via: "token" };
    member = { user: m, via: "token" };
    engine = new FakeEngine();
    engine.containers.set("c-red", { Id: "c-red", Name: "red-box", State: "running", Labels: RED });
    engine.containers.set("c-blue", { Id: "c-blue", Name: "blue-box", State: "running", Labels: BLUE });
    engine.networks = [
      { Id: "n-red", Name: "red-net", Labels: RED },
      { Id: "n-blue", Name: "blue-net", Labels: BLUE },
    ];
    envs = new Environments(db, openVault(db, dir), () => engine, FAST_TIMING, [NETWORKS]);
    bus = new TopicBus(policy);
    registerEventsTopic(bus, { envs, policy });
    envs.start("unix:///fake.sock");
    await until(() => envs.get("local")?.connection.status === "up", 2_000, "up");
  });

  afterEach(() => {
    envs.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const container = (id: string, Action: string, labels: Record<string, string>, name: string) =>
    engine.emitEvent({
      Type: "container",
      Action,
      Actor: { ID: id, Attributes: { ...labels, name } },
      timeNano: 1,
    });

  it("gives each audience the events of what it sees, decided when they came, from the one stream", async () => {
    const all = new EventSink();
    const red = new EventSink();
    await bus.subscribe("events:local", all, { caller: admin });
    await bus.subscribe("events:local", red, { caller: member });
    expect(all.frames[0]).toMatchObject({ k: "recent", d: [] });

    container("c-red", "start", RED, "red-box");
    container("c-blue", "start", BLUE, "blue-box");
    // Red's network gets red's box, then blue's (an admin's doing): red hears of its own box only.
    engine.emitEvent({
      Type: "network",
      Action: "connect",
      Actor: { ID: "n-red", Attributes: { container: "c-red", name: "red-net" } },
    });
    engine.emitEvent({
      Type: "network",
      Action: "connect",
      Actor: { ID: "n-red", Attributes: { container: "c-blue", name: "red-net" } },
    });
    engine.emitEvent({
      Type: "network",
      Action: "create",
      Actor: { ID: "n-blue", Attributes: { name: "blue-net" } },
    });
    engine.emitEvent({
      Type: "image",
      Action: "pull",
      Actor: { ID: "busybox:latest", Attributes: { name: "busybox" } },
    });
    engine.emitEvent({ Type: "daemon", Action: "reload", Actor: { ID: "engine" } });
    await until(() => all.events().length === 7, 2_000, "seven events");
    expect(red.events()).toEqual([
      "container:start:c-red",
      "network:connect:n-red",
      "image:pull:busybox:latest",
    ]);
    const connect = red.frames.find((f) => f.k === "event" && (f.d as EngineEventItem).type === "network");
    expect(connect?.d).toMatchObject({ container: "c-red", container_name: "red-box", name: "red-net" });

    // Its destroy still reaches its team, whether the mirror or the event's own labels say whose it was.
    engine.containers.delete("c-red");
    container("c-red", "destroy", RED, "red-box");
    await until(() => red.events().length === 4, 2_000, "red's destroy");

    // A network the mirror has not read yet: the event waits for the next read, then red sees it.
    engine.networks.push({ Id: "n-red2", Name: "red-net-2", Labels: RED });
    engine.emitEvent({
      Type: "network",
      Action: "create",
      Actor: { ID: "n-red2", Attributes: { name: "red-net-2" } },
    });
    await until(() => red.events().length === 5, 2_000, "red's new network");

    // A late subscriber gets what it may see of what was kept.
    const late = new EventSink();
    await bus.subscribe("events:local", late, { caller: member });
    expect((late.frames[0]!.d as EngineEventItem[]).map((e) => `${e.type}:${e.action}:${e.id}`)).toEqual(
      red.events(),
    );
    expect(engine.calls.filter((c) => c.startsWith("STREAM /events"))).toHaveLength(1);
  });
});
