import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { HostReader } from "../../src/stats/host.ts";
import {
  blkioTotals,
  firstLineNumbers,
  interfaceStartsWith,
  ioStatTotals,
  isInterface,
  keyedNumber,
  netDevTotals,
  onlineCpus,
  wholeNumber,
} from "../../src/stats/kernel-parse.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const counter = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,14}$/);
const blanks = fc.stringMatching(/^[ \t]{1,4}$/);

// What a real v1 container gave on this kind of machine (trimmed), and a namespace's net/dev.
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 62207269103 3736615    0    0    0     0          0         0 62207269103 3736615    0    0    0     0       0          0
  eth0:    1500      10    0    0    0     0          0         0      700       7    0    0    0     0       0          0
veth1a2b:500 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0
`;

describe("kernel files parsed as bytes", () => {
  it("reads a file that is one number, and nothing else as one", () => {
    expect(wholeNumber(bytes("73400320\n"))).toBe(73400320);
    // v1's "no limit": only its size matters (above any host's memory).
    expect(wholeNumber(bytes("9223372036854771712\n"))).toBeGreaterThan(9.2e18);
    for (const s of ["max\n", "", "\n", "12 13\n", "-1\n", "12x\n"]) expect(wholeNumber(bytes(s))).toBeNaN();
    fc.assert(fc.property(counter, (n) => wholeNumber(bytes(`${n}\n`)) === n));
  });

  it("finds a key only at a line's start, whole, as the text parser did", () => {
    const stat = bytes("total_inactive_file_x 1\ninactive_file 7\ntotal_inactive_file 6291456\n");
    expect(keyedNumber(stat, "total_inactive_file ")).toBe(6291456);
    expect(keyedNumber(stat, "inactive_file ")).toBe(7);
    expect(keyedNumber(stat, "active_file ")).toBeUndefined();
    expect(keyedNumber(bytes("MemTotal:        2048000 kB\n"), "MemTotal:")).toBe(2048000);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, counter), { selector: (e) => e[0], maxLength: 12 }),
        (pairs) => {
          const file = bytes(pairs.map(([k, v]) => `${k} ${v}\n`).join(""));
          return pairs.every(([k, v]) => keyedNumber(file, `${k} `) === v);
        },
      ),
    );
  });

  it("sums net/dev over the interfaces asked for, whatever the padding", () => {
    const totals = (counts: Parameters<typeof netDevTotals>[1]) => {
      const out = new Float64Array(2);
      netDevTotals(bytes(NET_DEV), counts, out);
      return [...out];
    };
    expect(totals(() => true)).toEqual([62207269103 + 1500 + 500, 62207269103 + 700 + 300]);
    expect(totals((b, from, to) => !isInterface(b, from, to, "lo"))).toEqual([2000, 1000]);
    expect(totals((b, f, t) => !interfaceStartsWith(b, f, t, ["lo", "veth"]))).toEqual([1500, 700]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.array(counter, { minLength: 16, maxLength: 16 }), blanks), {
          maxLength: 8,
        }),
        (ifaces) => {
          const lines = ifaces.map(([n, v, pad]) => `${pad}${n}:${pad}${v.join(pad)}\n`);
          const file = bytes(`Inter-| header\n face |bytes\n${lines.join("")}`);
          const out = new Float64Array(2);
          netDevTotals(file, () => true, out);
          const [rx, tx] = out;
          return (
            rx === ifaces.reduce((a, [, v]) => a + v[0]!, 0) &&
            tx === ifaces.reduce((a, [, v]) => a + v[8]!, 0)
          );
        },
      ),
    );
  });

  it("sums io.stat's rbytes and wbytes, and v1 blkio's Read and Write lines", () => {
    const io = bytes(
      "8:0 rbytes=1048576 wbytes=2097152 rios=10 wios=20 dbytes=0 dios=0\n" +
        "253:0 rbytes=4096 wbytes=0 rios=1 wios=0 xrbytes=9 dios=0\n",
    );
    expect(ioStatTotals(io)).toEqual([1048576 + 4096, 2097152]);
    const blk = bytes(
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:16 READ 10\n8:0 Total 12288\nTotal 12288\n",
    );
    expect(blkioTotals(blk)).toEqual([4106, 8192, 5]);
    expect(blkioTotals(bytes("Total 0\n"))).toEqual([0, 0, 0]);
    expect(blkioTotals(bytes("8:0 Read 1 extra\n"))).toEqual([0, 0, 0]);
  });

  it("reads /proc/stat's cpu line and CPU count, and /proc/loadavg", () => {
    const stat = bytes("cpu  100 20 30 1000 40 5 6 70 0 0\ncpu0 1 2\ncpu1 3 4\nintr 12 1 2\ncpux\n");
    const out = new Float64Array(8);
    expect(firstLineNumbers(stat, "cpu ", out)).toBe(8);
    expect([...out]).toEqual([100, 20, 30, 1000, 40, 5, 6, 70]);
    expect(onlineCpus(stat)).toBe(2);
    expect(firstLineNumbers(bytes("intr 1\n"), "cpu ", out)).toBe(0);
    const load = new Float64Array(3);
    expect(firstLineNumbers(bytes("0.36 1.05 12.50 2/345 12345\n"), "", load)).toBe(3);
    expect([...load]).toEqual([0.36, 1.05, 12.5]);
  });
});

describe("HostReader", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the host's CPU %, memory, load and physical traffic from files kept open", () => {
    dir = mkdtempSync(join(tmpdir(), "gp-host-"));
    const proc = join(dir, "proc");
    mkdirSync(join(proc, "net"), { recursive: true });
    const put = (stat: string, rx: number, tx: number) => {
      writeFileSync(join(proc, "stat"), `cpu  ${stat}\ncpu0 1\ncpu1 1\ncpu2 1\nintr 5\n`);
      writeFileSync(
        join(proc, "net/dev"),
        NET_DEV.replace("eth0:    1500", `eth0:    ${rx}`).replace("      700 ", `      ${tx} `),
      );
    };
    writeFileSync(join(proc, "meminfo"), "MemTotal:  2000 kB\nMemFree:  100 kB\nMemAvailable:  1500 kB\n");
    writeFileSync(join(proc, "loadavg"), "0.50 0.25 0.10 1/100 42\n");
    put("100 0 100 700 100 0 0 0", 1000, 500);
    const reader = new HostReader([], proc);
    try {
      const first = reader.read(10_000);
      expect(first).toMatchObject({
        ncpu: 3,
        mem_total: 2000 * 1024,
        load: [0.5, 0.25, 0.1],
        net_rx_rate: 0,
      });
      expect(first.mem_used).toBe(500 * 1024);
      // 1,000 ticks more, 300 of them idle or iowait: 70 % busy; eth0 only (lo and veth left out).
      put("400 0 500 900 200 0 0 0", 3000, 1500);
      const second = reader.read(12_000);
      expect(second.cpu_percent).toBe(70);
      expect(second.net_rx_rate).toBe(1000);
      expect(second.net_tx_rate).toBe(500);
    } finally {
      reader.close();
    }
  });
});
