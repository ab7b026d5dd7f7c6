import { upgradeWebSocket } from "hono/bun";
import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import type { Environments } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import type { AgentHub } from "./hub.ts";
import { AGENT_LINK_PATH } from "./wire.ts";
import { MuxSession } from "./ws-link.ts";

const DEFAULT_TTL_MINUTES = 60;

export function agentRoutes(
  routes: RouteTable,
  {
    envs,
    agents,
    tlsFingerprint,
  }: { envs: Environments; agents: AgentHub; tlsFingerprint: () => string | null },
): void {
  const link = upgradeWebSocket(() => {
    let session: MuxSession | undefined;
    return {
      onOpen: (_evt, ws) => {
        session = new MuxSession({ send: (m) => ws.send(m), close: () => ws.close() }, "panel");
        agents.accept(session, "WebSocket");
      },
      onMessage: (evt) => {
        const bytes = asBytes(evt.data);
        if (bytes) session?.receive(bytes);
        else session?.destroy();
      },
      onClose: () => session?.end(),
    };
  });
  routes.add(
    {
      method: "get",
      path: AGENT_LINK_PATH,
      tag: "environments",
      policy: "public",
      summary:
        "An edge agent's link when UDP cannot reach the agent listener: a WebSocket carrying the same streams as QUIC (docs/protocol.md §Agent link). No caller: the agent proves its registered key inside, as over QUIC",
      responses: {
        101: "Switching to WebSocket",
        409: errorResponse("The panel does not listen for agents, or not over this certificate"),
        426: errorResponse("Not a WebSocket request"),
      },
    },
    async (c) => {
      // The agent pinned the agent listener's certificate: this port must present the same one.
      if (!agents.listening || tlsFingerprint() !== agents.pinned)
        throw new ApiError(
          409,
          "agents_off",
          "this port does not take agents: the panel needs --agent-listen, and TLS with the certificate agents pin",
        );
      const upgraded = await link(c, async () => {});
      if (upgraded) return upgraded;
      throw new ApiError(426, "upgrade_required", "this is a WebSocket endpoint for edge agents");
    },
  );
  routes.add(
    {
      method: "post",
      path: "/api/v1/agents/join-tokens",
      tag: "environments",
      policy: "envs:manage",
      summary:
        "A one-time token for an edge agent to join as the environment `name` (`ghostpanel agent --panel URL --join TOKEN`); it carries the panel's certificate fingerprint and agent address. Removing the environment revokes the agent",
      body: z.object({
        name: z
          .string()
          .check(
            z.minLength(1),
            z.maxLength(64),
            z.regex(
              /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
              "letters, digits, _ . - (starting with a letter or digit)",
            ),
          ),
        expires_in_minutes: z.optional(
          z.number().check(z.int(), z.minimum(1), z.maximum(7 * 24 * 60), z.describe("default 60")),
        ),
      }),
      responses: {
        201: json(
          z.object({ token: z.string(), name: z.string(), expires_at: z.number(), command: z.string() }),
          "Made (shown once)",
        ),
        409: errorResponse("Name taken, or the panel does not listen for agents"),
        ...commonErrors,
      },
    },
    (c, { body }) => {
      noteAudit(c, { target: { name: body.name } });
      if (envs.hasName(body.name))
        throw new ApiError(409, "conflict", `an environment named "${body.name}" exists`);
      const made = agents.makeJoinToken(body.name, (body.expires_in_minutes ?? DEFAULT_TTL_MINUTES) * 60_000);
      if (!made)
        throw new ApiError(
          409,
          "agents_off",
          "this panel does not listen for agents: start it with --agent-listen HOST:PORT",
        );
      const panel = new URL(c.req.url).origin;
      return c.json(
        {
          token: made.token,
          name: body.name,
          expires_at: made.expiresAt,
          command: `ghostpanel agent --panel ${panel} --join ${made.token}`,
        },
        201,
      );
    },
  );
}

function asBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
