import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { withOtherNetworks } from "../../src/containers/edit-route.ts";
import { UpdateSchema } from "../../src/containers/update-route.ts";
import { HOST_CONFIG_RULES } from "../../src/safety/rules.ts";
import { inPlaceUpdate, specDiff } from "../../web/features/containers/create/diff.ts";
import { emptySpec } from "../../web/features/containers/create/spec.ts";

describe("the in-place update's body", () => {
  it("takes only fields engine safety leaves free to anyone: an update gives a non-admin nothing a create would not", () => {
    for (const field of Object.keys(UpdateSchema.shape))
      expect(HOST_CONFIG_RULES[field as keyof typeof HOST_CONFIG_RULES], field).toBe("free");
  });

  it("refuses what reaches the host, other cases of a field, and values past the engine's range", () => {
    for (const body of [
      { Devices: [] },
      { memory: 1 },
      { Memory: 2 ** 60 },
      { Memory: 1024 },
      { CpuShares: 1 },
      { PidsLimit: -2 },
      { RestartPolicy: { Name: "always", MaximumRetryCount: 1, X: 1 } },
    ])
      expect(z.safeParse(UpdateSchema, body).success, JSON.stringify(body)).toBe(false);
    expect(z.safeParse(UpdateSchema, { Memory: 0, PidsLimit: -1, CpuQuota: -1 }).success).toBe(true);
  });
});

describe("an edit's diff", () => {
  const before = { ...emptySpec(), image: "app:1", env: ["A=1"], memory: "64m", restart: "no" as const };

  it("lists each changed field, old beside new", () => {
    const after = {
      ...before,
      env: ["A=2"],
      ports: [{ hostIp: "", hostPort: "8080", containerPort: "80", protocol: "tcp" as const }],
    };
    expect(specDiff(before, after)).toEqual([
      { field: "env", label: "Environment", before: "A=1", after: "A=2" },
      { field: "ports", label: "Ports", before: "", after: "8080:80" },
    ]);
    expect(inPlaceUpdate(after, specDiff(before, after))).toBeNull();
  });

  it("applies limits alone in place, and recreates when a limit is taken away", () => {
    const limits = { ...before, memory: "128m", pids: "50", restart: "always" as const };
    expect(inPlaceUpdate(limits, specDiff(before, limits))).toEqual({
      Memory: 128 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      PidsLimit: 50,
      RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
    });
    const cleared = { ...before, memory: "" };
    expect(inPlaceUpdate(cleared, specDiff(before, cleared))).toBeNull();
    expect(inPlaceUpdate(before, specDiff(before, before))).toBeNull();
  });
});

describe("an edit keeps the other networks", () => {
  const recipe = {
    Image: "app:1",
    HostConfig: { NetworkMode: "front" },
    NetworkingConfig: { EndpointsConfig: { front: { Aliases: ["web"] }, back: { Aliases: ["db-client"] } } },
  };

  it("joins the networks beyond the main one again, the main one as the edit says", () => {
    const edited = { Image: "app:2", HostConfig: { NetworkMode: "front" } };
    expect(withOtherNetworks(recipe, edited).NetworkingConfig?.EndpointsConfig).toEqual({
      back: { Aliases: ["db-client"] },
      front: {},
    });
  });

  it("moves the main network when the edit changes it, and joins none with host networking", () => {
    const moved = withOtherNetworks(recipe, { Image: "app:1", HostConfig: { NetworkMode: "other" } });
    expect(Object.keys(moved.NetworkingConfig?.EndpointsConfig ?? {}).sort()).toEqual(["back", "other"]);
    const host = { Image: "app:1", HostConfig: { NetworkMode: "host" } };
    expect(withOtherNetworks(recipe, host)).toBe(host);
  });
});
