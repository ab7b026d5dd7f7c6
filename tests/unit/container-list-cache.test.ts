import { describe, expect, it } from "vitest";
import type { Audience } from "../../src/auth/policy.ts";
import { ContainerListCache } from "../../src/containers/list-cache.ts";
import type { ContainerMirror } from "../../src/containers/mirror.ts";
import { type ContainerView, fromListItem } from "../../src/containers/view.ts";

const EVERYONE: Audience = { key: "*", sees: () => true };

/** What the cache reads of a mirror: its list once, then its changes (none here). */
function mirrorOf(count: number): ContainerMirror {
  const views: ContainerView[] = Array.from({ length: count }, (_, i) =>
    fromListItem({
      Id: i.toString(16).padStart(64, "0"),
      Names: [`/listed-${i}`],
      Image: "busybox",
      ImageID: "sha256:0",
      Command: "sleep 1d",
      Created: 1_700_000_000,
      State: "exited",
      Status: "Exited (0) 2 hours ago",
      Labels: { n: String(i) },
      Ports: [],
      Mounts: [],
      NetworkSettings: { Networks: {} },
    } as never),
  );
  return { list: () => views, onChange: () => () => {} } as unknown as ContainerMirror;
}

describe("container list cache: whole bodies", () => {
  it("answers the same second's requests with one body, and makes the next second's anew", () => {
    const cache = new ContainerListCache(mirrorOf(3));
    const now = 1_800_000_000_000;
    const first = cache.body(EVERYONE, {}, now);
    expect(cache.body(EVERYONE, {}, now + 500)).toBe(first);
    expect(JSON.parse(new TextDecoder().decode(first))).toHaveLength(3);
    expect(cache.body(EVERYONE, {}, now + 1_000)).not.toBe(first);
  });

  it("lets a body go once its second is over, though nobody asks again", async () => {
    const cache = new ContainerListCache(mirrorOf(200));
    let kept: WeakRef<Uint8Array> | undefined;
    (() => {
      kept = new WeakRef(cache.body(EVERYONE));
    })();
    await Bun.sleep(1_200);
    Bun.gc(true);
    expect(kept!.deref()).toBeUndefined();
  });
});
