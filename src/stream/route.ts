import { upgradeWebSocket } from "hono/bun";
import { getCookie } from "hono/cookie";
import * as z from "zod/mini";
import { type Authenticator, callerOf, identify } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { SESSION_COOKIE } from "../auth/sessions.ts";
import { clientAddress } from "../http/client-address.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse } from "../http/schemas.ts";
import type { TopicBus } from "./bus.ts";
import { StreamConnections, WebSocketConnection } from "./websocket.ts";

/** The live stream (docs/protocol.md), authenticated like every other /api/v1 route. */
export function streamRoutes(
  routes: RouteTable,
  auth: Authenticator & { bus: TopicBus; policy: Policy },
): void {
  const { bus } = auth;
  const connections = new StreamConnections(bus);
  const accessChanged = () => connections.accessChanged();
  auth.sessions.onChange(accessChanged);
  auth.tokens.onChange(accessChanged);
  auth.policy.onOwnershipChange(accessChanged);
  const upgrade = upgradeWebSocket((c) => {
    const topics = (c.req.query("topics") ?? "").split(",").filter(Boolean);
    const headers = c.req.raw.headers;
    const cookie = getCookie(c, SESSION_COOKIE);
    const conn = new WebSocketConnection(
      connections,
      callerOf(c),
      topics,
      () => identify(auth, headers, cookie),
      clientAddress(c),
    );
    return {
      onOpen: (_evt, ws) => conn.open(ws),
      onMessage: (evt) => conn.message(evt.data),
      onClose: () => conn.close(),
    };
  });
  routes.add(
    {
      method: "get",
      path: "/api/v1/stream",
      tag: "stream",
      policy: "stream:read",
      summary: "WebSocket of msgpack frames (docs/protocol.md); ?topics=a,b subscribes on connect",
      query: z.object({ topics: z.optional(z.string().check(z.maxLength(16_384))) }),
      responses: {
        101: "Switching to WebSocket",
        401: commonErrors[401],
        426: errorResponse("Not a WebSocket request"),
      },
    },
    async (c) => {
      const upgraded = await upgrade(c, async () => {});
      if (upgraded) return upgraded;
      throw new ApiError(426, "upgrade_required", "this is a WebSocket endpoint; see docs/protocol.md");
    },
  );
}
