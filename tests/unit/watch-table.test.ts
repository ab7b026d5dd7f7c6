import { describe, expect, it } from "vitest";
import type { StatsView } from "../../src/protocol/stats-frames.ts";
import { bytes, renderTable } from "../../src/watch/table.ts";

const view = (name: string, cpu: number): StatsView => ({
  id: name,
  name,
  cpu_percent: cpu,
  mem_usage: 5 * 1024 * 1024,
  mem_limit: 0,
  net_rx_rate: 1536,
  net_tx_rate: 0,
  blk_read_rate: 0,
  blk_write_rate: 0,
  pids: 1,
});

describe("watch's table", () => {
  it("shows sizes as docker stats does", () => {
    expect(bytes(0)).toBe("0 B");
    expect(bytes(1536)).toBe("1.50 KiB");
    expect(bytes(5 * 1024 * 1024)).toBe("5.00 MiB");
    expect(bytes(300 * 1024 ** 3)).toBe("300 GiB");
  });

  it("puts the busiest first and fits a terminal, saying what did not fit", () => {
    const views = [view("quiet", 0.5), view("a-very-long-container-name-indeed", 90), view("mid", 10)];
    const lines = renderTable(views, { title: "t", columns: 60, rows: 5 });
    expect(lines[2]).toMatch(/^NAME +CPU %/);
    expect(lines[3]).toMatch(/^a-very-long-con… +90\.0/);
    expect(lines[4]).toBe("… 2 more");
    expect(lines.every((l) => l.length <= 60)).toBe(true);
    const all = renderTable(views, { title: "t" });
    expect(all.slice(3).map((l) => l.split(/ +/)[0])).toEqual([
      "a-very-long-container-name-indeed",
      "mid",
      "quiet",
    ]);
    expect(all[4]).toContain("1.50 KiB/s");
    expect(renderTable([], { title: "t" })).toContain("(no running containers)");
  });
});
