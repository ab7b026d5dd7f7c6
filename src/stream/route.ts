import type { ServerWebSocket } from "bun";
import { upgradeWebSocket } from "hono/bun";
import { getCookie } from "hono/cookie";
import * as z from "zod/mini";
import type { AgentHub } from "../agent/hub.ts";
import { type Authenticator, callerOf, identify } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { SESSION_COOKIE } from "../auth/sessions.ts";
import { clientAddress } from "../http/client-address.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import type { QuicWatchInfo } from "../protocol/watch-quic.ts";
import type { TopicBus } from "./bus.ts";
import { feedResponse } from "./feed.ts";
import { serveQuicWatch } from "./quic-watch.ts";
import { StreamConnection, StreamConnections } from "./websocket.ts";

/** The live stream (docs/protocol.md), authenticated like every other /api/v1 route. */
export function streamRoutes(
  routes: RouteTable,
  auth: Authenticator & { bus: TopicBus; policy: Policy; agents: AgentHub },
): void {
  const { bus, agents } = auth;
  const connections = new StreamConnections(bus);
  // `ghostpanel watch` over QUIC: the agent listener's second ALPN, the same connections.
  agents.onWatch = (session, address) =>
    serveQuicWatch(session, { connections, auth, policy: auth.policy }, address);
  const accessChanged = () => connections.accessChanged();
  auth.sessions.onChange(accessChanged);
  auth.tokens.onChange(accessChanged);
  auth.policy.onOwnershipChange(accessChanged);
  const connect = (c: AppContext) => {
    const topics = (c.req.query("topics") ?? "").split(",").filter(Boolean);
    const headers = c.req.raw.headers;
    const cookie = getCookie(c, SESSION_COOKIE);
    return new StreamConnection(
      connections,
      callerOf(c),
      topics,
      () => identify(auth, headers, cookie),
      clientAddress(c),
    );
  };
  const upgrade = upgradeWebSocket((c) => {
    const conn = connect(c);
    return {
      onOpen: (_evt, ws) => conn.open(ws.raw as ServerWebSocket<unknown>),
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
  routes.add(
    {
      method: "get",
      path: "/api/v1/stream/feed",
      tag: "stream",
      policy: "stream:read",
      summary:
        "The same frames as the WebSocket, length-prefixed, in one long response body (docs/protocol.md, Feed); for HTTP/3",
      query: z.object({ topics: z.string().check(z.minLength(1), z.maxLength(16_384)) }),
      responses: {
        200: "A body of frames, each a 4-byte big-endian length and a msgpack map, until the client stops reading",
        400: commonErrors[400],
        401: commonErrors[401],
        403: errorResponse("A cookie-authenticated feed asked for by another origin"),
      },
    },
    (c) => {
      if (callerOf(c).via === "cookie") sameOriginOnly(c);
      return feedResponse(connect(c));
    },
  );
  routes.add(
    {
      method: "get",
      path: "/api/v1/stream/quic",
      tag: "stream",
      policy: "stream:read",
      summary:
        "Where `ghostpanel watch` reaches the stream over QUIC (the agent listener, ALPN ghostpanel-watch/1; docs/protocol.md, Watch over QUIC) and the certificate it pins there",
      responses: {
        200: json(
          z.object({ address: z.string(), fingerprint: z.string() }),
          "host:port (an empty host: this panel's) and the SHA-256 of the listener's certificate",
        ),
        401: commonErrors[401],
        409: errorResponse("The panel has no QUIC listener (it was started without --agent-listen)"),
      },
    },
    (c) => {
      if (!agents.listening)
        throw new ApiError(409, "no_quic", "this panel has no QUIC listener: it runs without --agent-listen");
      const info: QuicWatchInfo = { address: agents.address, fingerprint: agents.pinned };
      return c.json(info);
    },
  );
}

/**
 * A response body is not readable across origins, but subscribing may act (an `exec:` topic starts a
 * shell): with a cookie, the browser must say that our own page asked (Sec-Fetch-Site, which
 * scripts cannot set), as the WebSocket's upgrade must name our Origin.
 */
function sameOriginOnly(c: AppContext): void {
  if (c.req.header("sec-fetch-site") !== "same-origin")
    throw new ApiError(403, "cross_origin", "request refused: the feed answers only this panel's own pages");
}
