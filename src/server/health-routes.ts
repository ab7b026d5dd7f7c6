import * as z from "zod/mini";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import type { RouteTable } from "../http/route-table.ts";
import { json } from "../http/schemas.ts";
import type { WriteHealth } from "../store/write-health.ts";

export function healthRoutes(
  routes: RouteTable,
  {
    envs,
    policy,
    version,
    tlsFingerprint,
    writeHealth,
  }: {
    envs: Environments;
    policy: Policy;
    version: string;
    tlsFingerprint: () => string | null;
    writeHealth: WriteHealth;
  },
): void {
  routes.add(
    {
      method: "get",
      path: "/healthz",
      tag: "health",
      policy: "public",
      summary:
        "Liveness and the TLS certificate's fingerprint (no auth); the local engine's status to anyone, each engine's status and error to callers who reach it. \"degraded\": up, but see `warnings` (e.g. database writes failing)",
      responses: {
        200: json(
          z.object({
            status: z.enum(["ok", "degraded"]),
            warnings: z.array(z.string()),
            version: z.string(),
            engines: z.array(
              z.object({ id: z.string(), status: z.string(), error: z.optional(z.nullable(z.string())) }),
            ),
            // Public, as the certificate is: users compare it with the one their browser was given.
            tls: z.nullable(z.object({ fingerprint_sha256: z.string() })),
          }),
          "The panel is up; engines may not be",
        ),
      },
    },
    (c) => {
      const fingerprint = tlsFingerprint();
      const now = writeHealth.warnings();
      const caller = c.get("caller");
      // Anonymous probes learn whether the panel's own engine answers, nothing of the engines
      // admins added (their names) and no error text (it names sockets and hosts).
      const engines = caller
        ? envs
            .list()
            .filter((e) => policy.can(caller, "envs:read", { env: e.id }))
            .map((e) => ({ id: e.id, status: e.status, error: e.error }))
        : envs
            .list()
            .filter((e) => e.id === "local")
            .map((e) => ({ id: e.id, status: e.status }));
      return c.json({
        status: now.length ? "degraded" : "ok",
        warnings: now,
        version,
        engines,
        tls: fingerprint === null ? null : { fingerprint_sha256: fingerprint },
      });
    },
  );
}
