import { Database } from "bun:sqlite";
import { type Caller, Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { TopicBus } from "../../src/stream/bus.ts";

export const adminCaller: Caller = {
  user: { id: 1, username: "u", role: "admin", created_at: 0 },
  via: "token",
};

/** A bus whose policy lets an admin through everything (no teams needed): for transport tests. */
export function adminBus(): TopicBus {
  return new TopicBus(new Policy(new TeamStore(new Database(":memory:"))));
}
