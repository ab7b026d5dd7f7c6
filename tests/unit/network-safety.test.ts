import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { vetNetworkCreate } from "../../src/safety/network-rules.ts";
import { NetworkConnectSchema, NetworkCreateSchema } from "../../src/safety/network-schema.ts";

const parse = (body: unknown) => z.safeParse(NetworkCreateSchema, body);
const messages = (body: unknown) => {
  const r = parse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("the network create body", () => {
  it("takes subnets, ranges and gateways inside their subnet, v4 and v6", () => {
    for (const Config of [
      [{ Subnet: "172.28.0.0/16", Gateway: "172.28.5.254", IPRange: "172.28.5.0/24" }],
      [{ Subnet: "10.1.2.0/24", AuxiliaryAddresses: { router: "10.1.2.3" } }],
      [{ Subnet: "fd00:1::/64", Gateway: "fd00:1::1", IPRange: "fd00:1::/80" }],
      [{ Subnet: "::ffff:10.0.0.0/104", Gateway: "::ffff:10.0.0.1" }],
    ])
      expect(messages({ Name: "n", IPAM: { Config } }), JSON.stringify(Config)).toEqual([]);
  });

  it("refuses what is not a subnet, an address outside it, and a gateway with no subnet", () => {
    expect(messages({ Name: "n", IPAM: { Config: [{ Subnet: "10.0.0.0/33" }] } })[0]).toContain(
      "IPAM.Config.0.Subnet",
    );
    expect(messages({ Name: "n", IPAM: { Config: [{ Subnet: "010.0.0.0/8" }] } })[0]).toContain("Subnet");
    expect(messages({ Name: "n", IPAM: { Config: [{ Subnet: "10.0.0.0" }] } })[0]).toContain("Subnet");
    expect(
      messages({ Name: "n", IPAM: { Config: [{ Subnet: "10.0.0.0/24", Gateway: "10.0.1.1" }] } }),
    ).toEqual(["IPAM.Config.0.Gateway: 10.0.1.1 is not inside the subnet 10.0.0.0/24"]);
    expect(
      messages({ Name: "n", IPAM: { Config: [{ Subnet: "10.0.0.0/24", IPRange: "10.0.0.0/16" }] } })[0],
    ).toContain("IPRange: 10.0.0.0/16 is not inside");
    expect(
      messages({ Name: "n", IPAM: { Config: [{ Subnet: "fd00::/64", Gateway: "10.0.0.1" }] } })[0],
    ).toContain("not inside");
    expect(messages({ Name: "n", IPAM: { Config: [{ Gateway: "10.0.0.1" }] } })[0]).toContain(
      "needs a subnet",
    );
  });

  it("refuses keys in another case or folding, naming the one meant", () => {
    expect(messages({ Name: "n", driver: "macvlan" })[0]).toContain(
      'unknown field "driver" (field names are exact: "Driver")',
    );
    expect(messages({ Name: "n", "Option\u017f": {} })[0]).toContain('field names are exact: "Options"');
    expect(messages({ Name: "n", IPAM: { config: [] } })[0]).toContain('field names are exact: "Config"');
    expect(z.safeParse(NetworkConnectSchema, { Container: "x", endpointConfig: {} }).success).toBe(false);
  });

  it("keeps only the fields it names in what it hands on", () => {
    const r = parse({ Name: "n", Labels: { a: "b" } });
    expect(r.success && Object.keys(r.data)).toEqual(["Name", "Labels"]);
  });
});

describe("a non-admin's network", () => {
  const vet = (body: unknown) => vetNetworkCreate(z.parse(NetworkCreateSchema, body));

  it("may be a bridge with the allowed options, or an overlay", () => {
    expect(vet({ Name: "n" })).toEqual([]);
    expect(
      vet({
        Name: "n",
        Driver: "bridge",
        Internal: true,
        EnableIPv6: true,
        IPAM: { Driver: "default", Config: [{ Subnet: "10.9.0.0/24" }] },
        Options: { "com.docker.network.bridge.enable_icc": "false", "com.docker.network.driver.mtu": "1400" },
      }),
    ).toEqual([]);
    expect(vet({ Name: "n", Driver: "overlay", Attachable: true, Options: { encrypted: "" } })).toEqual([]);
  });

  it("may not reach the host's interfaces or the swarm's", () => {
    expect(vet({ Name: "n", Driver: "macvlan" })[0]).toMatch(/^Driver: "macvlan"/);
    expect(vet({ Name: "n", Driver: "ipvlan" })[0]).toMatch(/^Driver: "ipvlan"/);
    expect(vet({ Name: "n", Options: { "com.docker.network.bridge.name": "docker0" } })).toEqual([
      expect.stringMatching(/^Options: "com\.docker\.network\.bridge\.name" is not allowed/),
    ]);
    expect(
      vet({ Name: "n", Driver: "overlay", Options: { "com.docker.network.bridge.enable_icc": "true" } }),
    ).toHaveLength(1);
    expect(vet({ Name: "n", IPAM: { Driver: "dhcp" } })).toEqual([expect.stringMatching(/^IPAM\.Driver/)]);
    expect(vet({ Name: "n", IPAM: { Options: { a: "b" } } })).toEqual([
      "IPAM.Options: only admins may set this",
    ]);
    for (const field of ["Scope", "Ingress", "ConfigOnly", "ConfigFrom"]) {
      const value = field === "Scope" ? "swarm" : field === "ConfigFrom" ? { Network: "x" } : true;
      expect(vet({ Name: "n", [field]: value }), field).toEqual([`${field}: only admins may set this`]);
    }
  });
});
