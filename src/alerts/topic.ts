import type { Policy } from "../auth/policy.ts";
import type { TopicBus } from "../stream/bus.ts";
import { encodeFrame } from "../stream/frames.ts";
import type { Alerts } from "./alerts.ts";
import { alertAllowed } from "./visible.ts";

/** How many alerts a subscriber gets first. */
const SNAPSHOT = 200;

/**
 * `alerts`: a snapshot of the recent alerts, then an `upsert` each time one fires, resolves or is
 * acknowledged — each subscriber only the alerts of what it may see. Alerts are rare: each frame is
 * decided per subscriber.
 */
export function registerAlertTopic(
  bus: TopicBus,
  { alerts, policy }: { alerts: Alerts; policy: Policy },
): void {
  bus.register("alerts", {
    action: "alerts:read",
    open: (_args, { caller }) => [
      {
        k: "snapshot",
        d: alerts.store.alerts(SNAPSHOT).filter((a) => alertAllowed(policy, caller, "alerts:read", a)),
      },
    ],
  });
  alerts.evaluator.onChange((alert) => {
    let frame: Uint8Array | undefined;
    bus.publishEach("alerts", (_sink, caller) => {
      if (!alertAllowed(policy, caller, "alerts:read", alert)) return undefined;
      frame ??= encodeFrame("alerts", { k: "upsert", d: alert });
      return frame;
    });
  });
}
