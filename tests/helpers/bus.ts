import { Database } from "bun:sqlite";
import { type Caller, Policy } from "../../src/auth/policy.ts";
import { TeamStore } from "../../src/auth/teams.ts";
import { decodeFrame, type Frame } from "../../src/protocol/frames.ts";
import { type Sink, TopicBus } from "../../src/stream/bus.ts";

export const adminCaller: Caller = {
  user: { id: 1, username: "u", role: "admin", created_at: 0 },
  via: "token",
};

/** A bus whose policy lets an admin through everything (no teams needed): for transport tests. */
export function adminBus(): TopicBus {
  return new TopicBus(new Policy(new TeamStore(new Database(":memory:"))));
}

/** A subscriber that keeps every frame it is sent, decoded. */
export class RecordingSink implements Sink {
  frames: Frame[] = [];
  deliver(frame: Uint8Array): void {
    this.frames.push(decodeFrame(frame));
  }
  offer(frame: Uint8Array): boolean {
    this.deliver(frame);
    return true;
  }
  ended(): void {}
  /** each frame as `kind:id` */
  kinds(): string[] {
    return this.frames.map((f) => `${f.k}:${(f.d as { id?: string })?.id ?? ""}`);
  }
}
