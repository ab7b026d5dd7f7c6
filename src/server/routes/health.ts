import * as z from "zod/mini";
import type { Environments } from "../../envs/environments.ts";
import type { RouteTable } from "../route-table.ts";
import { json } from "../schemas.ts";

export function healthRoutes(
  routes: RouteTable,
  envs: Environments,
  version: string,
  tlsFingerprint: () => string | null,
  warnings: () => string[],
): void {
  routes.add(
    {
      method: "get",
      path: "/healthz",
      tag: "health",
      policy: "public",
      summary:
        "Liveness, with each engine's reachability and the TLS certificate's fingerprint (no auth). \"degraded\": up, but see `warnings` (e.g. database writes failing)",
      responses: {
        200: json(
          z.object({
            status: z.enum(["ok", "degraded"]),
            warnings: z.array(z.string()),
            version: z.string(),
            engines: z.array(z.object({ id: z.string(), status: z.string(), error: z.nullable(z.string()) })),
            // Public, as the certificate is: users compare it with the one their browser was given.
            tls: z.nullable(z.object({ fingerprint_sha256: z.string() })),
          }),
          "The panel is up; engines may not be",
        ),
      },
    },
    (c) => {
      const fingerprint = tlsFingerprint();
      const now = warnings();
      return c.json({
        status: now.length ? "degraded" : "ok",
        warnings: now,
        version,
        engines: envs.list().map((e) => ({ id: e.id, status: e.status, error: e.error })),
        tls: fingerprint === null ? null : { fingerprint_sha256: fingerprint },
      });
    },
  );
}
