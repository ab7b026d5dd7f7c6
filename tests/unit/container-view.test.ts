import { describe, expect, it } from "vitest";
import { type ContainerView, humanDuration, statusText } from "../../src/containers/view.ts";

const base: ContainerView = {
  id: "a".repeat(64),
  name: "web",
  image: "busybox",
  image_id: "sha256:x",
  command: "sleep 1",
  state: "running",
  status: "",
  health: null,
  created: 0,
  started_at: "2026-11-22T00:00:00Z",
  finished_at: null,
  exit_code: 0,
  labels: {},
  ports: [],
  networks: [],
  tty: false,
  pid: 0,
  volumes: [],
};
const at = (iso: string) => Date.parse(iso);

describe("status text as docker ps words it", () => {
  it("counts up time like go-units' HumanDuration", () => {
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(1_000)).toBe("1 second");
    expect(humanDuration(59_000)).toBe("59 seconds");
    expect(humanDuration(60_000)).toBe("About a minute");
    expect(humanDuration(5 * 60_000)).toBe("5 minutes");
    expect(humanDuration(3_600_000)).toBe("About an hour");
    expect(humanDuration(30 * 3_600_000)).toBe("30 hours");
    expect(humanDuration(3 * 24 * 3_600_000)).toBe("3 days");
    expect(humanDuration(3 * 7 * 24 * 3_600_000)).toBe("3 weeks");
    expect(humanDuration(90 * 24 * 3_600_000)).toBe("3 months");
    expect(humanDuration(3 * 365 * 24 * 3_600_000)).toBe("3 years");
  });

  it("words each state", () => {
    const now = at("2026-11-22T00:05:00Z");
    expect(statusText(base, now)).toBe("Up 5 minutes");
    expect(statusText({ ...base, health: "healthy" }, now)).toBe("Up 5 minutes (healthy)");
    expect(statusText({ ...base, health: "starting" }, now)).toBe("Up 5 minutes (health: starting)");
    expect(statusText({ ...base, state: "paused" }, now)).toBe("Up 5 minutes (Paused)");
    expect(
      statusText({ ...base, state: "exited", exit_code: 137, finished_at: "2026-11-22T00:04:30Z" }, now),
    ).toBe("Exited (137) 30 seconds ago");
    expect(statusText({ ...base, state: "created", started_at: null }, now)).toBe("Created");
    expect(statusText({ ...base, state: "dead" }, now)).toBe("Dead");
  });
});
