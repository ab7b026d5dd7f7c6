import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ContainerCreateSchema,
  EndpointSettingsSchema,
  HostConfigSchema,
  MountSchema,
  VolumeCreateSchema,
} from "../../src/safety/create-schema.ts";
import { NETWORK_CREATE_RULES } from "../../src/safety/network-rules.ts";
import { NetworkCreateSchema } from "../../src/safety/network-schema.ts";
import {
  CONFIG_RULES,
  ENDPOINT_RULES,
  HOST_CONFIG_RULES,
  MOUNT_RULES,
  VOLUME_CREATE_RULES,
} from "../../src/safety/rules.ts";

const rows = new Map(
  [
    ...readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8").matchAll(
      /^\| `([^`]+)`\s*\| (\w+)\s*\|/gm,
    ),
  ].map((m) => [m[1]!, m[2]!]),
);

describe("docs/security.md and the rules", () => {
  it("has a rule for every field the schema takes, and the doc lists each with the same rule", () => {
    for (const [prefix, schema, rules] of [
      ["", ContainerCreateSchema, CONFIG_RULES],
      ["HostConfig.", HostConfigSchema, HOST_CONFIG_RULES],
      ["NetworkingConfig.EndpointsConfig.<network>.", EndpointSettingsSchema, ENDPOINT_RULES],
      ["HostConfig.Mounts[].", MountSchema, MOUNT_RULES],
      ["NetworkCreate.", NetworkCreateSchema, NETWORK_CREATE_RULES],
      ["VolumeCreate.", VolumeCreateSchema, VOLUME_CREATE_RULES],
    ] as const) {
      const fields = Object.keys(schema.def.shape).sort();
      expect(Object.keys(rules).sort(), prefix || "top level").toEqual(fields);
      for (const field of fields) {
        expect(rows.get(`${prefix}${field}`), `${prefix}${field}`).toBe(
          (rules as Record<string, string>)[field],
        );
      }
    }
    expect(rows.size).toBe(
      [
        CONFIG_RULES,
        HOST_CONFIG_RULES,
        ENDPOINT_RULES,
        MOUNT_RULES,
        NETWORK_CREATE_RULES,
        VOLUME_CREATE_RULES,
      ].reduce((n, r) => n + Object.keys(r).length, 0),
    );
  });
});
