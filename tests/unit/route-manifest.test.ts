import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MANIFEST_PATH, manifestSource, routeManifest } from "../../scripts/route-manifest.ts";

describe("the route manifest", () => {
  it("declares every route each module registers, as the module does (else: bun scripts/route-manifest.ts)", async () => {
    // The panel declares routes from the manifest and loads their module on first use: a route
    // missing here would be a 404, a policy wrong here a wrong answer from the audit and the docs.
    expect(readFileSync(MANIFEST_PATH, "utf8")).toBe(manifestSource(await routeManifest()));
  });
});
