import { afterEach, describe, expect, it } from "vitest";
import { type ContainerChange, ContainerMirror } from "../../src/containers/mirror.ts";
import { type ConnectionTiming, EngineConnection, type EngineStatus } from "../../src/envs/connection.ts";
import { FAST_TIMING, FakeEngine, until } from "../helpers/fake-engine.ts";

function world(timing: Partial<ConnectionTiming> = {}) {
  const engine = new FakeEngine();
  const connection = new EngineConnection(engine, { ...FAST_TIMING, ...timing });
  const mirror = new ContainerMirror(engine);
  connection.attach(mirror);
  const changes: ContainerChange[] = [];
  const statuses: EngineStatus[] = [];
  mirror.onChange((c) => changes.push(c));
  connection.onStatus((s) => statuses.push(s));
  return { engine, connection, mirror, changes, statuses };
}

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe("engine connection and container mirror, on a fake engine", () => {
  it("reads the list on connect, then follows events: frames out as changes", async () => {
    const w = world();
    stop = () => w.connection.stop();
    w.engine.containers.set("a", { Id: "a", Name: "one", State: "running" });
    w.connection.start();
    await until(() => w.connection.status === "up", 2_000, "up");
    expect(w.changes[0]).toMatchObject({ kind: "snapshot", containers: [{ id: "a", name: "one" }] });

    w.engine.containers.set("b", { Id: "b", Name: "two", State: "created" });
    w.engine.emit({ Action: "create", id: "b" });
    await until(() => w.mirror.find("two") !== undefined, 2_000, "b mirrored");
    expect(w.changes.at(-1)).toMatchObject({ kind: "upsert", container: { id: "b" }, before: undefined });

    w.engine.containers.get("b")!.State = "running";
    w.engine.emit({ Action: "start", id: "b" });
    await until(() => w.mirror.find("b")?.state === "running");
    expect(w.changes.at(-1)).toMatchObject({ kind: "upsert", before: { state: "created" } });

    w.engine.containers.delete("b");
    w.engine.emit({ Action: "destroy", id: "b" });
    await until(() => w.mirror.find("b") === undefined);
    expect(w.changes.at(-1)).toMatchObject({ kind: "remove", id: "b" });
    // Events of other types go to their own mirrors, not this one.
    const before = w.changes.length;
    w.engine.emit({ Type: "image", Action: "pull", id: "a" });
    await new Promise((r) => setTimeout(r, 20));
    expect(w.changes.length).toBe(before);
  });

  it("never brings back a container destroyed while its inspect was on the way", async () => {
    const w = world();
    stop = () => w.connection.stop();
    w.connection.start();
    await until(() => w.connection.status === "up");
    w.engine.containers.set("r", { Id: "r", Name: "racer", State: "removing", inspectDelayMs: 50 });
    w.engine.emit({ Action: "die", id: "r" });
    // The inspect is in flight; the destroy overtakes it.
    await new Promise((r) => setTimeout(r, 10));
    w.engine.containers.delete("r");
    w.engine.emit({ Action: "destroy", id: "r" });
    await new Promise((r) => setTimeout(r, 100));
    expect(w.mirror.find("r")).toBeUndefined();
    expect(w.mirror.list()).toEqual([]);
  });

  it("reconnects with backoff, says so, and resyncs only what differs (no inspect for the rest)", async () => {
    const w = world();
    stop = () => w.connection.stop();
    for (const id of ["a", "b", "c"])
      w.engine.containers.set(id, { Id: id, Name: `n-${id}`, State: "running" });
    w.connection.start();
    await until(() => w.connection.status === "up");
    expect(w.engine.inspects()).toBe(3);

    w.engine.drop();
    await until(() => w.connection.status === "down", 2_000, "down");
    expect(w.connection.error).toMatch(/unreachable|reset/);
    // While it is away: one exits, one goes, one comes.
    w.engine.containers.get("a")!.State = "exited";
    w.engine.containers.delete("b");
    w.engine.containers.set("d", { Id: "d", Name: "n-d", State: "created" });
    const mark = w.changes.length;
    const inspectsBefore = w.engine.inspects();
    w.engine.restore();
    await until(() => w.connection.status === "up", 2_000, "up again");
    await until(() => w.mirror.find("d") !== undefined);

    expect(w.statuses).toEqual(["up", "down", "up"]);
    const after = w.changes.slice(mark);
    expect(after).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "remove", id: "b" }),
        expect.objectContaining({
          kind: "upsert",
          container: expect.objectContaining({ id: "a", state: "exited" }),
        }),
        expect.objectContaining({ kind: "upsert", container: expect.objectContaining({ id: "d" }) }),
      ]),
    );
    expect(after.some((c) => c.kind === "snapshot")).toBe(false);
    // Inspected: the changed one and the new one; "c" is as it was.
    expect(w.engine.inspects() - inspectsBefore).toBe(2);
  });

  it("a change with no event (a failed restart) is caught by the slow reconcile", async () => {
    const w = world({ reconcileMs: 30 });
    stop = () => w.connection.stop();
    w.engine.containers.set("s", { Id: "s", Name: "stuck", State: "restarting" });
    w.connection.start();
    await until(() => w.mirror.find("s")?.state === "restarting");
    w.engine.containers.get("s")!.State = "exited";
    await until(() => w.mirror.find("s")?.state === "exited", 2_000, "reconciled");
    const listCalls = w.engine.calls.filter((c) => c.startsWith("GET /containers/json")).length;
    expect(listCalls).toBeGreaterThan(1);
  });

  it("polls an engine without events, and stops for good when told", async () => {
    const w = world();
    w.engine.containers.set("p", { Id: "p", Name: "polled", State: "running" });
    const connect = w.engine.connect.bind(w.engine);
    w.engine.connect = async () => {
      await connect();
      w.engine.capabilities = { ...w.engine.capabilities!, events: false, inspect: false };
    };
    w.connection.start();
    await until(() => w.mirror.find("polled") !== undefined);
    w.engine.containers.set("q", { Id: "q", Name: "later", State: "running" });
    await until(() => w.mirror.find("later") !== undefined, 2_000, "polled in");
    expect(w.engine.calls.some((c) => c.startsWith("STREAM /events"))).toBe(false);
    w.connection.stop();
    const calls = w.engine.calls.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(w.engine.calls.length).toBe(calls);
  });
});
