import { describe, expect, it } from "vitest";
import { capabilitiesOf, engineKind, negotiateApiVersion } from "../../src/engine/capabilities.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";

describe("engine URLs", () => {
  it("reads unix, tcp, http and https URLs", () => {
    expect(parseEngineUrl("unix:///var/run/docker.sock")).toMatchObject({
      socketPath: "/var/run/docker.sock",
    });
    expect(parseEngineUrl("tcp://127.0.0.1:2375")).toMatchObject({
      host: "127.0.0.1",
      port: 2375,
      protocol: "http",
    });
    expect(parseEngineUrl("tcp://127.0.0.1")).toMatchObject({ port: 2375 });
    expect(parseEngineUrl("tcp://127.0.0.1", { cert: "C", key: "K" })).toMatchObject({
      port: 2376,
      protocol: "https",
      cert: "C",
    });
    expect(parseEngineUrl("https://[::1]:2376")).toMatchObject({ host: "::1", protocol: "https" });
  });

  it("refuses what is not an engine URL, saying what would be", () => {
    expect(() => parseEngineUrl("docker.sock")).toThrow(/unix:\/\//);
    expect(() => parseEngineUrl("ftp://x")).toThrow(/scheme/);
    expect(() => parseEngineUrl("unix://")).toThrow(/socket path/);
  });
});

describe("engine kinds and capabilities", () => {
  it("tells Docker, Podman and Bolt's compat server apart from /version", () => {
    expect(engineKind({ Version: "20.10.24+dfsg1", ApiVersion: "1.41" })).toBe("docker");
    expect(engineKind({ Version: "4.3.1", Components: [{ Name: "Podman Engine" }] })).toBe("podman");
    expect(engineKind({ Version: "24.0.0-bolt", ApiVersion: "1.43" })).toBe("bolt");
  });

  it("offers on Bolt only what its compat API serves", () => {
    const bolt = capabilitiesOf("bolt", false);
    expect(bolt).toMatchObject({
      events: false,
      logs: false,
      pause: false,
      networks: false,
      versionedPaths: false,
    });
    expect(capabilitiesOf("docker", true)).toMatchObject({ events: true, logs: true, swarm: true });
    expect(capabilitiesOf("podman", true).swarm).toBe(false);
  });

  it("speaks the engine's API version, capped at ours", () => {
    expect(negotiateApiVersion("1.41")).toBe("1.41");
    expect(negotiateApiVersion("1.52")).toBe("1.45");
    expect(negotiateApiVersion(undefined)).toBe("1.45");
  });
});
