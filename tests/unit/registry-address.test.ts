import { describe, expect, it } from "vitest";
import { parseRegistryUrl, RegistryAddressError } from "../../src/registries/address.ts";
import { parseChallenge } from "../../src/registries/client.ts";

describe("registry addresses", () => {
  it("takes https anywhere and http on loopback only; names the host as image references do", () => {
    expect(parseRegistryUrl("https://registry.example.com")).toEqual({
      url: "https://registry.example.com",
      host: "registry.example.com",
    });
    expect(parseRegistryUrl("registry.example.com:5443/")).toEqual({
      url: "https://registry.example.com:5443",
      host: "registry.example.com:5443",
    });
    expect(parseRegistryUrl("127.0.0.1:5000")).toEqual({
      url: "http://127.0.0.1:5000",
      host: "127.0.0.1:5000",
    });
    expect(parseRegistryUrl("http://localhost:5000").host).toBe("localhost:5000");
    expect(parseRegistryUrl("http://[::1]:5000").url).toBe("http://[::1]:5000");
    expect(parseRegistryUrl("https://index.docker.io")).toEqual({
      url: "https://registry-1.docker.io",
      host: "docker.io",
    });
    for (const bad of [
      "http://10.0.0.5:5000",
      "http://registry.example.com",
      "http://127.0.0.1.example.com",
      "ftp://127.0.0.1",
      "https://registry.example.com/v2/",
      "https://registry.example.com/?x=1",
      "https://u:p@registry.example.com",
      "",
    ]) {
      expect(() => parseRegistryUrl(bad), bad).toThrow(RegistryAddressError);
    }
  });
});

describe("WWW-Authenticate challenges", () => {
  it("reads basic and bearer challenges, quoted values with commas included", () => {
    expect(parseChallenge('Basic realm="registry"')).toEqual({
      scheme: "basic",
      params: { realm: "registry" },
    });
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:a/b:pull,push",
      },
    });
    expect(parseChallenge("Bearer realm=https://x/token, service=reg")?.params).toEqual({
      realm: "https://x/token",
      service: "reg",
    });
    expect(parseChallenge("")).toBeUndefined();
  });
});
