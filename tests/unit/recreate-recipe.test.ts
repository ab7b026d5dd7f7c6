import { describe, expect, it } from "vitest";
import { type ContainerInspect, recipeOf } from "../../src/containers/recreate.ts";

const ID = "0123456789ab".padEnd(64, "c");

function inspect(over: Partial<ContainerInspect> = {}): ContainerInspect {
  return {
    Id: ID,
    Name: "/web",
    Image: "sha256:old",
    Config: {
      Hostname: ID.slice(0, 12),
      Image: "reg.example.com/app:1",
      Env: ["PATH=/bin", "MINE=1"],
      Cmd: ["serve"],
      Labels: { "from.image": "yes", mine: "kept" },
      ExposedPorts: { "80/tcp": {}, "9000/tcp": {} },
      WorkingDir: "/app",
    },
    HostConfig: {
      NetworkMode: "net1",
      Runtime: "runc",
      ShmSize: 67108864,
      RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
      Binds: ["data:/data"],
      KernelMemory: 0,
      KernelMemoryTCP: 5,
    },
    State: { Running: true },
    Mounts: [
      { Type: "volume", Name: "data", Destination: "/data", RW: true },
      { Type: "volume", Name: "f00d".repeat(16), Destination: "/cache", RW: true },
    ],
    NetworkSettings: {
      Networks: {
        net1: { Aliases: ["web-alias", ID.slice(0, 12)], IPAMConfig: { IPv4Address: "10.1.0.5" } },
        net2: { Aliases: null, IPAMConfig: null },
      },
    },
    ...over,
  };
}

const IMAGE = {
  Env: ["PATH=/bin"],
  Cmd: ["serve"],
  Labels: { "from.image": "yes" },
  ExposedPorts: { "80/tcp": {} },
  WorkingDir: "/app",
};
const DEFAULTS = {
  NetworkMode: "default",
  Runtime: "runc",
  ShmSize: 67108864,
  RestartPolicy: { Name: "no" },
};

describe("the create body of a container, from its inspect", () => {
  it("keeps what its maker asked for, leaves what the image and the engine filled in", () => {
    const { body, keptVolumes, dropped } = recipeOf(inspect(), IMAGE, DEFAULTS, "reg.example.com/app:1");
    expect(body).toEqual({
      Image: "reg.example.com/app:1",
      Env: ["MINE=1"],
      Labels: { mine: "kept" },
      ExposedPorts: { "9000/tcp": {} },
      HostConfig: {
        NetworkMode: "net1",
        RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
        Binds: ["data:/data"],
      },
      NetworkingConfig: {
        EndpointsConfig: {
          net1: { Aliases: ["web-alias"], IPAMConfig: { IPv4Address: "10.1.0.5" } },
          net2: {},
        },
      },
    });
    // The anonymous volume is mounted again; the named one comes back through Binds.
    expect(keptVolumes).toEqual([
      { Type: "volume", Source: "f00d".repeat(16), Target: "/cache", ReadOnly: false },
    ]);
    expect(dropped).toEqual(["HostConfig.KernelMemoryTCP"]);
  });

  it("keeps a Cmd equal to the image's when the maker gave an entrypoint (the engine took none from the image)", () => {
    const own = inspect();
    own.Config.Entrypoint = ["/bin/sh", "-c"];
    expect(recipeOf(own, IMAGE, DEFAULTS, "x:1").body).toMatchObject({
      Entrypoint: ["/bin/sh", "-c"],
      Cmd: ["serve"],
    });
    const same = inspect();
    expect(recipeOf(same, IMAGE, DEFAULTS, "x:1").body).not.toHaveProperty("Cmd");
  });

  it("joins no network of its own in another container's or the host's namespace", () => {
    const shared = inspect({ HostConfig: { NetworkMode: "container:other" } });
    const { body } = recipeOf(shared, IMAGE, DEFAULTS, "x:1");
    expect(body.NetworkingConfig).toBeUndefined();
    expect(body.HostConfig?.NetworkMode).toBe("container:other");
  });
});
