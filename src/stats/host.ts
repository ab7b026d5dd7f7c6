import { readFileSync, statfsSync } from "node:fs";
import type { HostFigures } from "../protocol/stats-frames.ts";
import { significant } from "./frame-encoder.ts";

export type { HostFigures };

// Container traffic crosses a veth and a bridge as well as the real interface: count it once.
const VIRTUAL = /^(lo|veth|docker|br-|virbr|cni|flannel|cali|vxlan)/;

interface CpuTimes {
  total: number;
  idle: number;
}

/** Reads /proc and statfs; rates and CPU % come from the difference with the previous read. */
export class HostReader {
  private prevCpu: CpuTimes | undefined;
  private prevNet: { at: number; rx: number; tx: number } | undefined;

  constructor(
    private readonly disks: string[],
    private readonly proc = "/proc",
  ) {}

  read(at = Date.now()): HostFigures {
    const stat = readFileSync(`${this.proc}/stat`, "utf8");
    const cpuLine = stat.split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const cpu = {
      total: cpuLine.slice(0, 8).reduce((a, b) => a + b, 0),
      idle: cpuLine[3]! + (cpuLine[4] ?? 0),
    };
    const ncpu = stat.split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
    let cpuPercent = 0;
    if (this.prevCpu && cpu.total > this.prevCpu.total) {
      const dt = cpu.total - this.prevCpu.total;
      cpuPercent = Math.max(0, Math.min(100, ((dt - (cpu.idle - this.prevCpu.idle)) / dt) * 100));
    }
    this.prevCpu = cpu;

    const mem = Object.fromEntries(
      readFileSync(`${this.proc}/meminfo`, "utf8")
        .split("\n")
        .map((l) => /^(\w+):\s+(\d+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, Number(m[2]) * 1024]),
    );
    const load = readFileSync(`${this.proc}/loadavg`, "utf8").split(" ").slice(0, 3).map(Number) as [
      number,
      number,
      number,
    ];

    let rx = 0;
    let tx = 0;
    for (const line of readFileSync(`${this.proc}/net/dev`, "utf8").split("\n").slice(2)) {
      const [name, rest] = line.split(":");
      if (!rest || VIRTUAL.test(name!.trim())) continue;
      const cols = rest.trim().split(/\s+/).map(Number);
      rx += cols[0] ?? 0;
      tx += cols[8] ?? 0;
    }
    const seconds = this.prevNet ? (at - this.prevNet.at) / 1000 : 0;
    const rate = (cur: number, prev: number) => (seconds > 0 ? Math.max(0, (cur - prev) / seconds) : 0);
    const figures: HostFigures = {
      cpu_percent: Math.round(cpuPercent * 10) / 10,
      ncpu,
      // Rounded as a dashboard shows them, so a figure that did not visibly move is not sent again.
      mem_used: significant((mem.MemTotal ?? 0) - (mem.MemAvailable ?? mem.MemFree ?? 0), 3),
      mem_total: mem.MemTotal ?? 0,
      load,
      net_rx_rate: significant(rate(rx, this.prevNet?.rx ?? 0), 2),
      net_tx_rate: significant(rate(tx, this.prevNet?.tx ?? 0), 2),
      disks: this.disks.flatMap((path) => {
        try {
          const s = statfsSync(path);
          return [{ path, used: significant((s.blocks - s.bfree) * s.bsize, 3), total: s.blocks * s.bsize }];
        } catch {
          return [];
        }
      }),
    };
    this.prevNet = { at, rx, tx };
    return figures;
  }
}

/** The fields of `cur` that differ from `prev`: what a host frame after a subscriber's first carries. */
export function changedHostFields(prev: HostFigures, cur: HostFigures): Partial<HostFigures> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cur)) {
    const before = (prev as unknown as Record<string, unknown>)[key];
    if (typeof value === "object" ? JSON.stringify(value) !== JSON.stringify(before) : value !== before) {
      out[key] = value;
    }
  }
  return out as Partial<HostFigures>;
}
