import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import type { Environments } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import type { AgentHub } from "./hub.ts";

const DEFAULT_TTL_MINUTES = 60;

export function agentRoutes(
  routes: RouteTable,
  { envs, agents }: { envs: Environments; agents: AgentHub },
): void {
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
