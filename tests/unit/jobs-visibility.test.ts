import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Caller, Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { UserStore } from "../../src/auth/users.ts";
import { Jobs } from "../../src/jobs/jobs.ts";
import { jobVisible } from "../../src/jobs/topic.ts";
import { openDatabase } from "../../src/store/database.ts";

describe("who sees a job", () => {
  const dir = mkdtempSync(join(tmpdir(), "gptest-jobs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("admins every job; others the jobs of their teams' members; a job of no team only admins", async () => {
    const db = openDatabase(dir, () => {});
    const users = new UserStore(db);
    const teams = new TeamStore(db);
    const policy = new Policy(teams);
    const caller = async (name: string, role: "admin" | "operator" | "viewer"): Promise<Caller> => ({
      user: (await users.create(name, "jobs-password", role))!,
      via: "token",
    });
    const admin = await caller("admin", "admin");
    const red1 = await caller("red1", "operator");
    const red2 = await caller("red2", "viewer");
    const blue = await caller("blue", "operator");
    const loner = await caller("loner", "operator");
    teams.update(teams.create("red")!.id, { members: [red1.user.id, red2.user.id] });
    teams.update(teams.create("blue")!.id, { members: [blue.user.id] });

    const jobs = new Jobs();
    const run = async () => undefined;
    const redJob = jobs.start(
      "local",
      { kind: "pull", title: "a" },
      { user: "red1", teams: policy.teamsOf(red1) },
      run,
    );
    const adminJob = jobs.start("local", { kind: "pull", title: "b" }, { user: "admin", teams: [] }, run);
    const sees = (c: Caller) =>
      [redJob, adminJob].filter((j) => jobVisible(policy.audience(c, "local"), j)).map((j) => j.title);
    expect(sees(admin)).toEqual(["a", "b"]);
    expect(sees(red1)).toEqual(["a"]);
    expect(sees(red2)).toEqual(["a"]);
    expect(sees(blue)).toEqual([]);
    expect(sees(loner)).toEqual([]);
    db.close();
  });
});
