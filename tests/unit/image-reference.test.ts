import { describe, expect, it } from "vitest";
import { formatReference, parseReference, repositoryName } from "../../src/registries/reference.ts";

describe("image references, as the engine reads them", () => {
  it.each([
    ["busybox", "docker.io", "library/busybox", "latest", "busybox:latest"],
    ["docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", "busybox:1.36"],
    ["127.0.0.1:5000/app:1", "127.0.0.1:5000", "app", "1", "127.0.0.1:5000/app:1"],
    ["localhost/team/app", "localhost", "team/app", "latest", "localhost/team/app:latest"],
    ["ghcr.io/a/b/c:v1", "ghcr.io", "a/b/c", "v1", "ghcr.io/a/b/c:v1"],
    ["me/app", "docker.io", "me/app", "latest", "me/app:latest"],
  ])("%s", (text, registry, repository, tag, shown) => {
    const ref = parseReference(text);
    expect(ref).toMatchObject({ registry, repository, tag });
    expect(formatReference(ref)).toBe(shown);
  });

  it("keeps a digest, and names the repository without tag or digest", () => {
    const digest = `sha256:${"b".repeat(64)}`;
    const ref = parseReference(`127.0.0.1:5000/app:1@${digest}`);
    expect(ref.digest).toBe(digest);
    expect(repositoryName(ref)).toBe("127.0.0.1:5000/app");
    expect(parseReference(`app@${digest}`).tag).toBeUndefined();
  });

  it.each(["", "Busybox", "a//b", "a:b:c", "app:-x", "app@sha256:short", "x".repeat(600)])(
    "refuses %j",
    (text) => {
      expect(() => parseReference(text)).toThrow();
    },
  );
});
