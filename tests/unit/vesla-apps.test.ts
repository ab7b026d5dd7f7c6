import { describe, expect, it } from "vitest";
import type { ContainerView } from "../../src/containers/view.ts";
import { appOf } from "../../src/protocol/apps.ts";
import { classify, veslaApp } from "../../src/vesla/apps.ts";

const container = (name: string, labels: Record<string, string> = {}, extra: Partial<ContainerView> = {}) =>
  ({
    id: "0123456789abcdef".repeat(4),
    name,
    image: "app:latest",
    image_id: "sha256:1",
    command: "",
    state: "running",
    status: "",
    health: null,
    created: 1_768_559_400,
    started_at: "2026-01-17T08:00:00.123456789Z",
    finished_at: null,
    exit_code: 0,
    labels,
    ports: [],
    networks: [],
    tty: false,
    pid: 1,
    volumes: [],
    ...extra,
  }) satisfies ContainerView;

const managed = (app: string) => ({ "vesla.managed": "true", "vesla.app": app });

describe("Vesla apps", () => {
  it("takes Vesla's own marker for an app, not the seed's wrong one", () => {
    expect(appOf(container("shop", managed("shop")))).toBe("shop");
    // The seed's test: vesla.app == "true", or "vesla-" in the name.
    expect(appOf(container("x", { "vesla.app": "true" }))).toBeUndefined();
    expect(appOf(container("vesla-thing"))).toBeUndefined();
    expect(appOf(container("x", { "vesla.managed": "false", "vesla.app": "x" }))).toBeUndefined();
    expect(appOf(container("x", { "vesla.managed": "true" }))).toBeUndefined();
  });

  it("puts each container in one list at most", () => {
    expect(classify(container("traefik"))).toBe("system");
    expect(classify(container("vesla-api"))).toBe("system");
    expect(classify(container("my-portainer-1"))).toBe("system");
    // An app whose name contains a system name is an app, and only that.
    expect(classify(container("traefik-demo", managed("traefik-demo")))).toBe("app");
    expect(classify(container("vesla-dashboard", managed("vesla-dashboard")))).toBe("app");
    expect(classify(container("postgres"))).toBeUndefined();
  });

  it("answers the seed's App shape, ports as Docker's NetworkSettings.Ports", () => {
    const app = veslaApp(
      container("shop", managed("shop"), {
        ports: [
          { private: 5000, type: "tcp" },
          { private: 80, public: 8080, type: "tcp", ip: "0.0.0.0" },
          { private: 80, public: 8080, type: "tcp", ip: "::" },
        ],
      }),
    );
    expect(app).toEqual({
      id: "0123456789ab",
      name: "shop",
      status: "running",
      image: "app:latest",
      created: "2026-01-16T10:30:00Z",
      started: "2026-01-17T08:00:00.123456789Z",
      ports: {
        "5000/tcp": null,
        "80/tcp": [
          { HostIp: "0.0.0.0", HostPort: "8080" },
          { HostIp: "::", HostPort: "8080" },
        ],
      },
      labels: managed("shop"),
      is_running: true,
    });
    expect(veslaApp(container("never", {}, { state: "created", started_at: null })).started).toBe(
      "0001-01-01T00:00:00Z",
    );
  });
});
