import { describe, expect, it } from "vitest";
import type { Audience } from "../../src/auth/policy.ts";
import { portConflicts } from "../../src/containers/port-conflicts.ts";
import type { ContainerView } from "../../src/containers/view.ts";

const running = (name: string, ports: ContainerView["ports"], state = "running") =>
  ({
    id: name,
    name,
    state,
    labels: { team: name.startsWith("red") ? "red" : "blue" },
    ports,
  }) as unknown as ContainerView;

const redOnly: Audience = { key: "red", sees: (c) => c.labels.team === "red" };

describe("host ports taken before a create", () => {
  const others = [
    running("red-web", [{ private: 80, public: 8080, type: "tcp", ip: "0.0.0.0" }]),
    running("blue-db", [{ private: 5432, public: 5432, type: "tcp", ip: "127.0.0.1" }]),
    running("red-dns", [{ private: 53, public: 53, type: "udp", ip: "" }]),
    running("red-old", [{ private: 80, public: 9000, type: "tcp", ip: "" }], "exited"),
  ];

  it("names what the caller may see, and only 'another container' otherwise", () => {
    expect(
      portConflicts(
        { "80/tcp": [{ HostIp: "", HostPort: "8080" }], "5432/tcp": [{ HostIp: "", HostPort: "5432" }] },
        others,
        redOnly,
      ),
    ).toEqual([
      'host port 8080/tcp is already published by container "red-web"',
      "host port 5432/tcp is already published by another container",
    ]);
  });

  it("tells protocols, addresses and stopped containers apart, and checks ranges port by port", () => {
    const free = portConflicts(
      {
        "53/tcp": [{ HostIp: "", HostPort: "53" }],
        "5432/tcp": [{ HostIp: "127.0.0.2", HostPort: "5432" }],
        "80/tcp": [
          { HostIp: "", HostPort: "9000" },
          { HostIp: "", HostPort: "" },
          { HostIp: "", HostPort: "0" },
        ],
      },
      others,
      redOnly,
    );
    expect(free).toEqual([]);
    expect(portConflicts({ "53/udp": [{ HostPort: "50-60" }] }, others, redOnly)).toEqual([
      'host port 53/udp is already published by container "red-dns"',
    ]);
  });
});
