import { statfsSync } from "node:fs";
import type { HostFigures } from "../protocol/stats-frames.ts";
import { significant } from "./frame-encoder.ts";
import { KernelFile } from "./kernel-file.ts";
import {
  firstLineNumbers,
  interfaceStartsWith,
  keyedNumber,
  netDevTotals,
  onlineCpus,
} from "./kernel-parse.ts";

export type { HostFigures };

// Container traffic crosses a veth and a bridge as well as the real interface: count it once.
const VIRTUAL = ["lo", "veth", "docker", "br-", "virbr", "cni", "flannel", "cali", "vxlan"];

function physical(b: Uint8Array, from: number, to: number): boolean {
  return !interfaceStartsWith(b, from, to, VIRTUAL);
}

// user nice system idle iowait irq softirq steal
const CPU_FIELDS = 8;
const cpuFields = new Float64Array(CPU_FIELDS);
const loadFields = new Float64Array(3);
const netFields = new Float64Array(2);

interface CpuTimes {
  total: number;
  idle: number;
}

/**
 * Reads /proc (files kept open, parsed as bytes: kernel-file.ts) and statfs; rates and CPU % come
 * from the difference with the previous read.
 */
export class HostReader {
  private prevCpu: CpuTimes | undefined;
  private prevNet: { at: number; rx: number; tx: number } | undefined;
  private readonly stat: KernelFile;
  private readonly meminfo: KernelFile;
  private readonly loadavg: KernelFile;
  private readonly netDev: KernelFile;

  constructor(
    private readonly disks: string[],
    proc = "/proc",
  ) {
    this.stat = new KernelFile(proc, "stat");
    this.meminfo = new KernelFile(proc, "meminfo");
    this.loadavg = new KernelFile(proc, "loadavg");
    this.netDev = new KernelFile(proc, "net/dev");
  }

  close(): void {
    for (const f of [this.stat, this.meminfo, this.loadavg, this.netDev]) f.close();
  }

  read(at = Date.now()): HostFigures {
    const stat = this.stat.bytes();
    cpuFields.fill(0);
    firstLineNumbers(stat, "cpu ", cpuFields);
    let total = 0;
    for (const v of cpuFields) total += v;
    const cpu = { total, idle: cpuFields[3]! + cpuFields[4]! };
    const ncpu = onlineCpus(stat);
    let cpuPercent = 0;
    if (this.prevCpu && cpu.total > this.prevCpu.total) {
      const dt = cpu.total - this.prevCpu.total;
      cpuPercent = Math.max(0, Math.min(100, ((dt - (cpu.idle - this.prevCpu.idle)) / dt) * 100));
    }
    this.prevCpu = cpu;

    const meminfo = this.meminfo.bytes();
    const memTotal = (keyedNumber(meminfo, "MemTotal:") ?? 0) * 1024;
    const memAvailable =
      (keyedNumber(meminfo, "MemAvailable:") ?? keyedNumber(meminfo, "MemFree:") ?? 0) * 1024;
    loadFields.fill(0);
    firstLineNumbers(this.loadavg.bytes(), "", loadFields);
    const load: [number, number, number] = [loadFields[0]!, loadFields[1]!, loadFields[2]!];
    netDevTotals(this.netDev.bytes(), physical, netFields);
    const rx = netFields[0]!;
    const tx = netFields[1]!;
    const seconds = this.prevNet ? (at - this.prevNet.at) / 1000 : 0;
    const rate = (cur: number, prev: number) => (seconds > 0 ? Math.max(0, (cur - prev) / seconds) : 0);
    const figures: HostFigures = {
      cpu_percent: Math.round(cpuPercent * 10) / 10,
      ncpu,
      // Rounded as a dashboard shows them, so a figure that did not visibly move is not sent again.
      mem_used: significant(memTotal - memAvailable, 3),
      mem_total: memTotal,
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
