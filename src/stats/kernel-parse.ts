/**
 * Figures out of the bytes of kernel-generated files (cgroup counters, /proc), without making a
 * string: the stats tick reads a few files per container every second, and the text parsers made a
 * string per file, line and field of them (~20 per container and tick). Parsing bytes takes ~11 %
 * less CPU per read; the system calls are the rest (docs/decisions.md, "Kernel files parsed as
 * bytes"). Every file parsed here is ASCII.
 */

const NL = 10;
const SP = 32;
const TAB = 9;
const COLON = 58;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/** Where numberAt() stopped: single-threaded and synchronous, so one slot does. */
let stoppedAt = 0;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isBlank(c: number | undefined): boolean {
  return c === SP || c === TAB;
}

/**
 * The unsigned decimal number at b[i…] after blanks, a fraction allowed; NaN without a digit.
 * Leaves stoppedAt on the byte after it.
 */
function numberAt(b: Uint8Array, i: number): number {
  while (isBlank(b[i])) i++;
  let whole = 0;
  let digits = 0;
  while (isDigit(b[i])) {
    whole = whole * 10 + (b[i]! - ZERO);
    i++;
    digits++;
  }
  let fraction = 0;
  let scale = 1;
  if (b[i] === DOT && isDigit(b[i + 1])) {
    i++;
    while (isDigit(b[i])) {
      fraction = fraction * 10 + (b[i]! - ZERO);
      scale *= 10;
      i++;
      digits++;
    }
  }
  stoppedAt = i;
  return digits ? whole + fraction / scale : Number.NaN;
}

/** Where the line after the one holding b[i] starts (b.length at the end). */
function nextLine(b: Uint8Array, i: number): number {
  const nl = b.indexOf(NL, i);
  return nl < 0 ? b.length : nl + 1;
}

function matches(b: Uint8Array, at: number, ascii: string): boolean {
  if (at + ascii.length > b.length) return false;
  for (let k = 0; k < ascii.length; k++) if (b[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** A file that is one number (memory.current, cpuacct.usage, pids.current); NaN for anything else ("max"). */
export function wholeNumber(b: Uint8Array): number {
  const v = numberAt(b, 0);
  for (let i = stoppedAt; i < b.length; i++) if (!isBlank(b[i]) && b[i] !== NL) return Number.NaN;
  return v;
}

/**
 * The number after `key` at the start of a line: `key` ends with its separator ("usage_usec " in
 * cpu.stat and memory.stat, "MemTotal:" in /proc/meminfo, blanks after it skipped).
 */
export function keyedNumber(b: Uint8Array, key: string): number | undefined {
  for (let i = 0; i < b.length; i = nextLine(b, i)) {
    if (!matches(b, i, key)) continue;
    const v = numberAt(b, i + key.length);
    return Number.isNaN(v) ? undefined : v;
  }
  return undefined;
}

/**
 * Received and transmitted bytes of a net/dev file (/proc/<pid>/net/dev, /proc/net/dev), summed
 * over the interfaces `counts` accepts, into out[0] and out[1] (read every tick for every
 * container: no array made per call); `counts` gets the interface's name as bytes [from, to).
 */
export function netDevTotals(
  b: Uint8Array,
  counts: (b: Uint8Array, from: number, to: number) => boolean,
  out: Float64Array,
): void {
  let rx = 0;
  let tx = 0;
  // Two header lines, then "  name: rx_bytes rx_packets … (8 receive fields) tx_bytes …".
  for (let i = nextLine(b, nextLine(b, 0)); i < b.length; i = nextLine(b, i)) {
    const colon = indexBefore(b, COLON, i, nextLine(b, i));
    if (colon < 0) continue;
    let from = i;
    while (isBlank(b[from])) from++;
    if (!counts(b, from, colon)) continue;
    let v = numberAt(b, colon + 1);
    rx += v || 0;
    for (let field = 1; field <= 8; field++) v = numberAt(b, stoppedAt);
    tx += v || 0;
  }
  out[0] = rx;
  out[1] = tx;
}

/** Whether the interface name b[from, to) is exactly `name`. */
export function isInterface(b: Uint8Array, from: number, to: number, name: string): boolean {
  return to - from === name.length && matches(b, from, name);
}

/** Whether the interface name b[from, to) begins with one of `prefixes`. */
export function interfaceStartsWith(
  b: Uint8Array,
  from: number,
  to: number,
  prefixes: readonly string[],
): boolean {
  return prefixes.some((p) => p.length <= to - from && matches(b, from, p));
}

/** rbytes and wbytes of a v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=…" per device), summed. */
export function ioStatTotals(b: Uint8Array): [number, number] {
  let rd = 0;
  let wr = 0;
  for (let i = 0; i < b.length; i++) {
    // A field starts after a blank or a line's start.
    if (i > 0 && !isBlank(b[i - 1]) && b[i - 1] !== NL) continue;
    if (matches(b, i, "rbytes=")) rd += numberAt(b, i + 7) || 0;
    else if (matches(b, i, "wbytes=")) wr += numberAt(b, i + 7) || 0;
  }
  return [rd, wr];
}

/**
 * [read, write, device lines] of a v1 blkio io_service_bytes file ("8:0 Read 4096" …, "Total
 * 4096"): lines of three fields, the operation in any case.
 */
export function blkioTotals(b: Uint8Array): [number, number, number] {
  let rd = 0;
  let wr = 0;
  let lines = 0;
  for (let i = 0; i < b.length; i = nextLine(b, i)) {
    const eol = nextLine(b, i);
    const end = b[eol - 1] === NL ? eol - 1 : eol;
    const s1 = indexBefore(b, SP, i, end);
    const s2 = s1 < 0 ? -1 : indexBefore(b, SP, s1 + 1, end);
    if (s2 < 0 || indexBefore(b, SP, s2 + 1, end) >= 0) continue;
    lines++;
    const op = s2 - s1 - 1;
    const v = numberAt(b, s2 + 1) || 0;
    if (op === 4 && lowerIs(b, s1 + 1, "read")) rd += v;
    else if (op === 5 && lowerIs(b, s1 + 1, "write")) wr += v;
  }
  return [rd, wr, lines];
}

/** Where `byte` first is in b[from, to), or -1. */
function indexBefore(b: Uint8Array, byte: number, from: number, to: number): number {
  const at = b.indexOf(byte, from);
  return at >= 0 && at < to ? at : -1;
}

function lowerIs(b: Uint8Array, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) if ((b[at + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * The numbers on the first line after `prefix` into `out` ("cpu " of /proc/stat: user nice system
 * idle iowait irq softirq steal …; "" of /proc/loadavg), up to the first that is not one; how many
 * there were (0 when the file does not start with `prefix`).
 */
export function firstLineNumbers(b: Uint8Array, prefix: string, out: Float64Array): number {
  if (!matches(b, 0, prefix)) return 0;
  let n = 0;
  let i = prefix.length;
  while (n < out.length) {
    const v = numberAt(b, i);
    if (Number.isNaN(v)) break;
    out[n++] = v;
    i = stoppedAt;
  }
  return n;
}

/** The "cpuN" lines of /proc/stat: the online CPUs. */
export function onlineCpus(b: Uint8Array): number {
  let n = 0;
  for (let i = nextLine(b, 0); i < b.length; i = nextLine(b, i)) {
    // The cpu lines come first and together.
    if (!matches(b, i, "cpu") || !isDigit(b[i + 3])) break;
    n++;
  }
  return n;
}
