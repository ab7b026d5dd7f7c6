import { upgradeWebSocket } from "hono/bun";
import type { TopicBus } from "../../stream/bus.ts";
import { WebSocketConnection } from "../../stream/websocket.ts";
import { ApiError } from "../errors.ts";
import { newRouter } from "../router.ts";

/** The live stream (docs/protocol.md). Authentication happened before: this route is under /api/v1. */
export function streamRoutes(bus: TopicBus) {
  const app = newRouter();
  app.get(
    "/stream",
    upgradeWebSocket((c) => {
      const topics = (c.req.query("topics") ?? "").split(",").filter(Boolean);
      const conn = new WebSocketConnection(bus, c.get("user"), topics);
      return {
        onOpen: (_evt, ws) => conn.open(ws),
        onMessage: (evt) => conn.message(evt.data),
        onClose: () => conn.close(),
      };
    }),
    () => {
      throw new ApiError(426, "upgrade_required", "this is a WebSocket endpoint; see docs/protocol.md");
    },
  );
  return app;
}
