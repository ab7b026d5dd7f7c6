import * as z from "zod/mini";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, json } from "../http/schemas.ts";
import { readEngineSafety, writeEngineSafety } from "./engine-safety.ts";
import type { SettingsStore } from "./settings-store.ts";

const EngineSafetySchema = z.object({
  allow_privileged: z.boolean(),
  allow_host_namespaces: z.boolean(),
  allow_devices: z.boolean(),
  allow_capabilities: z.boolean(),
  allowed_bind_paths: z
    .array(
      z
        .string()
        .check(
          z.minLength(2),
          z.maxLength(1024),
          z.regex(/^\/[^\0]*$/, "an absolute host path such as /srv/data (not / itself)"),
        ),
    )
    .check(z.maxLength(100)),
});

/** Admin settings of the panel. */
export function settingsRoutes(routes: RouteTable, { settings }: { settings: SettingsStore }): void {
  routes.add(
    {
      method: "get",
      path: "/api/v1/settings/security",
      tag: "settings",
      policy: "settings:manage",
      summary:
        "What non-admins may ask of an engine (privileged, host namespaces, devices, capabilities, bind paths)",
      responses: { 200: json(EngineSafetySchema, "Settings"), 401: commonErrors[401] },
    },
    (c) => c.json(readEngineSafety(settings)),
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/settings/security",
      tag: "settings",
      policy: "settings:manage",
      summary: "Change what non-admins may ask of an engine",
      body: EngineSafetySchema,
      responses: { 200: json(EngineSafetySchema, "Saved"), 400: commonErrors[400], 401: commonErrors[401] },
    },
    (c, { body }) => {
      writeEngineSafety(settings, body);
      return c.json(readEngineSafety(settings));
    },
  );
}
