import { afterEach, describe, expect, it, vi } from "vitest";
import type { ContainerChange } from "../../src/containers/mirror.ts";
import type { ContainerView } from "../../src/containers/view.ts";
import {
  BURST_CONTAINERS,
  type BurstWatch,
  CHECK_EVERY_MS,
  checkBurst,
  churnOf,
  keepCollectingAfterBursts,
} from "../../src/server/collect-after-bursts.ts";

/** Checks in a row, from a start with nothing counted; whether each collects. */
function run(churns: number[], from: BurstWatch = { previous: 0, collectedAt: 0 }): boolean[] {
  let watch = from;
  return churns.map((churn) => {
    const checked = checkBurst(watch, churn);
    watch = checked.watch;
    return checked.collect;
  });
}

const view = (id: string) => ({ id }) as ContainerView;

describe("when a burst of containers is followed by a collection", () => {
  it("collects once the burst is over, not while it goes on", () => {
    // 100 containers made over a minute and a half, then quiet.
    expect(run([30, 70, 100, 100, 100])).toEqual([false, false, false, true, false]);
  });

  it("does not collect for fewer than BURST_CONTAINERS, however long they take to add up", () => {
    const few = BURST_CONTAINERS - 1;
    expect(run([few, few, few])).toEqual([false, false, false]);
    // Trickling in over time, one at a time: the count is since the last collection, not per check.
    const trickle = Array.from({ length: BURST_CONTAINERS * 2 }, (_, i) => i + 1);
    const checks = trickle.flatMap((n) => [n, n]);
    expect(run(checks).filter(Boolean)).toHaveLength(2);
  });

  it("counts from the last collection: a second burst collects again, the same quiet does not", () => {
    expect(run([0, 60, 60, 60, 60, 130, 130, 130])).toEqual([
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
  });
});

describe("what a change counts", () => {
  it("counts containers that came or went, not a change of state", () => {
    const c = view("a");
    const changes: ContainerChange[] = [
      { kind: "snapshot", containers: [c, view("b"), view("c")] },
      { kind: "upsert", container: c, before: undefined },
      { kind: "upsert", container: c, before: c },
      { kind: "remove", id: "a", container: c },
    ];
    expect(changes.map(churnOf)).toEqual([3, 1, 0, 1]);
  });
});

describe("the checks on a timer", () => {
  afterEach(() => vi.useRealTimers());

  it("collects after a first sync of many containers and after they are removed, and stops when told", () => {
    vi.useFakeTimers();
    let emit: ((env: string, change: ContainerChange) => void) | undefined;
    const collect = vi.fn();
    const stop = keepCollectingAfterBursts((listener) => {
      emit = listener;
      return () => {
        emit = undefined;
      };
    }, collect);
    const many = Array.from({ length: 2 * BURST_CONTAINERS }, (_, i) => view(`c${i}`));
    emit?.("local", { kind: "snapshot", containers: many });
    vi.advanceTimersByTime(CHECK_EVERY_MS);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(CHECK_EVERY_MS);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * CHECK_EVERY_MS);
    expect(collect).toHaveBeenCalledTimes(1);
    for (const c of many) emit?.("local", { kind: "remove", id: c.id, container: c });
    vi.advanceTimersByTime(2 * CHECK_EVERY_MS);
    expect(collect).toHaveBeenCalledTimes(2);
    stop();
    expect(emit).toBeUndefined();
  });
});
