/**
 * `docker run …` lines to a create spec and back. Words are split by shell-quote, as a POSIX shell
 * would (quotes, escapes, line continuations); `$VARS` are kept as written, never expanded. A flag
 * the form cannot carry is reported, never dropped in silence.
 */
import { parse } from "shell-quote";
import {
  type CreateSpec,
  emptySpec,
  formatPort,
  formatVolume,
  parsePort,
  parseVolume,
  type RestartName,
  SpecError,
} from "./spec.ts";

export interface ParsedRun {
  spec: CreateSpec;
  /** flags understood by docker but not by this form, as written */
  ignored: string[];
}

type Apply = (spec: CreateSpec, value: string) => void;

const list =
  (pick: (s: CreateSpec) => string[]): Apply =>
  (s, v) => {
    pick(s).push(v);
  };

const health = (s: CreateSpec) => {
  s.health ??= { cmd: "", interval: "", timeout: "", retries: "", startPeriod: "" };
  return s.health;
};

const keyValue = (v: string): [string, string] => {
  const i = v.indexOf("=");
  return i < 0 ? [v, ""] : [v.slice(0, i), v.slice(i + 1)];
};

/** Flags that take a value, by every name docker knows them by. */
const WITH_VALUE: Record<string, Apply> = {
  name: (s, v) => {
    s.name = v;
  },
  env: list((s) => s.env),
  e: list((s) => s.env),
  publish: (s, v) => {
    s.ports.push(parsePort(v));
  },
  p: (s, v) => {
    s.ports.push(parsePort(v));
  },
  volume: (s, v) => {
    s.mounts.push(parseVolume(v));
  },
  v: (s, v) => {
    s.mounts.push(parseVolume(v));
  },
  mount: (s, v) => {
    const o = Object.fromEntries(v.split(",").map((part) => keyValue(part)));
    const kind = (o.type ?? "volume") as CreateSpec["mounts"][number]["kind"];
    if (kind !== "volume" && kind !== "bind" && kind !== "tmpfs")
      throw new SpecError(`--mount type=${kind} is not supported`);
    s.mounts.push({
      kind,
      source: o.source ?? o.src ?? "",
      target: o.target ?? o.destination ?? o.dst ?? "",
      readOnly: "readonly" in o || "ro" in o,
    });
  },
  tmpfs: (s, v) => {
    s.mounts.push({ kind: "tmpfs", source: "", target: v.split(":")[0]!, readOnly: false });
  },
  network: (s, v) => {
    s.network = v;
  },
  net: (s, v) => {
    s.network = v;
  },
  "network-alias": list((s) => s.aliases),
  "net-alias": list((s) => s.aliases),
  ip: (s, v) => {
    s.ipv4 = v;
  },
  restart: (s, v) => {
    const [name = "", retries = ""] = v.split(":");
    if (!["no", "always", "unless-stopped", "on-failure"].includes(name)) {
      throw new SpecError(`--restart "${v}": no, always, unless-stopped or on-failure[:N]`);
    }
    s.restart = name as RestartName;
    s.restartRetries = retries;
  },
  cpus: (s, v) => {
    s.cpus = v;
  },
  memory: (s, v) => {
    s.memory = v;
  },
  m: (s, v) => {
    s.memory = v;
  },
  "pids-limit": (s, v) => {
    s.pids = v;
  },
  label: (s, v) => {
    s.labels.push(keyValue(v));
  },
  l: (s, v) => {
    s.labels.push(keyValue(v));
  },
  "health-cmd": (s, v) => {
    health(s).cmd = v;
  },
  "health-interval": (s, v) => {
    health(s).interval = v;
  },
  "health-timeout": (s, v) => {
    health(s).timeout = v;
  },
  "health-retries": (s, v) => {
    health(s).retries = v;
  },
  "health-start-period": (s, v) => {
    health(s).startPeriod = v;
  },
  user: (s, v) => {
    s.user = v;
  },
  u: (s, v) => {
    s.user = v;
  },
  workdir: (s, v) => {
    s.workdir = v;
  },
  w: (s, v) => {
    s.workdir = v;
  },
  hostname: (s, v) => {
    s.hostname = v;
  },
  h: (s, v) => {
    s.hostname = v;
  },
  dns: list((s) => s.dns),
  "cap-add": list((s) => s.capAdd),
  "cap-drop": list((s) => s.capDrop),
  device: list((s) => s.devices),
  gpus: (s, v) => {
    s.gpus = v.replace(/^count=/, "");
  },
  "log-driver": (s, v) => {
    s.logDriver = v;
  },
  "log-opt": (s, v) => {
    s.logOpts.push(keyValue(v));
  },
  entrypoint: (s, v) => {
    s.entrypoint = v ? [v] : [];
  },
};

/** Flags that stand alone. */
const SWITCHES: Record<string, ((s: CreateSpec) => void) | null> = {
  detach: null,
  d: null,
  tty: (s) => {
    s.tty = true;
  },
  t: (s) => {
    s.tty = true;
  },
  interactive: (s) => {
    s.interactive = true;
  },
  i: (s) => {
    s.interactive = true;
  },
  rm: (s) => {
    s.autoRemove = true;
  },
  privileged: (s) => {
    s.privileged = true;
  },
  "read-only": (s) => {
    s.readOnly = true;
  },
  init: (s) => {
    s.init = true;
  },
};

/** Value flags docker has that the form does not carry: skipped with their value, and reported. */
const UNSUPPORTED_WITH_VALUE = new Set([
  "env-file",
  "add-host",
  "cpu-shares",
  "c",
  "cpuset-cpus",
  "memory-swap",
  "memory-reservation",
  "shm-size",
  "ulimit",
  "sysctl",
  "security-opt",
  "stop-signal",
  "stop-timeout",
  "platform",
  "pull",
  "label-file",
  "cgroup-parent",
  "pid",
  "ipc",
  "uts",
  "userns",
  "volumes-from",
  "link",
  "expose",
  "mac-address",
  "ip6",
  "dns-search",
  "dns-option",
  "storage-opt",
  "runtime",
  "group-add",
  "cidfile",
  "attach",
  "a",
]);

/** Parses one `docker run` (or `docker container run`, or `docker create`) line. */
export function parseDockerRun(line: string): ParsedRun {
  const words: string[] = [];
  // Line continuations first: shell-quote reads a backslash-newline as an escaped newline.
  for (const w of parse(line.replace(/\\\r?\n/g, " "), (key) => `$${key}`)) {
    // A glob is kept as written: nothing here has files to match it against.
    if (typeof w === "object" && "op" in w && w.op === "glob") {
      words.push(w.pattern);
      continue;
    }
    if (typeof w !== "string") {
      const op = (w as { op?: string }).op ?? "?";
      throw new SpecError(`only one docker run command, without shell operators ("${op}")`);
    }
    words.push(w);
  }
  let i = 0;
  if (words[i] === "sudo") i++;
  if (words[i] === "docker") i++;
  if (words[i] === "container") i++;
  if (words[i] !== "run" && words[i] !== "create")
    throw new SpecError('paste a command that starts with "docker run"');
  i++;
  const spec = emptySpec();
  const ignored: string[] = [];
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    const long = word.startsWith("--");
    const [flag, inline] = long ? splitInline(word.slice(2)) : [word.slice(1), undefined];
    if (long) {
      i = applyFlag(spec, flag, inline, words, i, ignored, word);
      continue;
    }
    // Short flags bundle: -dit, -p8080:80, -e A=b.
    for (let k = 0; k < flag.length; k++) {
      const f = flag[k]!;
      if (f in WITH_VALUE || UNSUPPORTED_WITH_VALUE.has(f)) {
        const rest = flag.slice(k + 1);
        i = applyFlag(spec, f, rest || undefined, words, i, ignored, word);
        break;
      }
      if (!(f in SWITCHES)) throw new SpecError(`unknown flag -${f} in "${word}"`);
      SWITCHES[f]?.(spec);
    }
  }
  const image = words[i];
  if (!image) throw new SpecError("the command names no image");
  spec.image = image;
  const args = words.slice(i + 1);
  // --entrypoint takes one word; what follows the image is the command.
  if (args.length) spec.cmd = args;
  return { spec, ignored };
}

function splitInline(text: string): [string, string | undefined] {
  const eq = text.indexOf("=");
  return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}

function applyFlag(
  spec: CreateSpec,
  flag: string,
  inline: string | undefined,
  words: string[],
  i: number,
  ignored: string[],
  word: string,
): number {
  const apply = WITH_VALUE[flag];
  const unsupported = UNSUPPORTED_WITH_VALUE.has(flag);
  if (apply || unsupported) {
    let value = inline;
    let at = i;
    if (value === undefined) {
      at = i + 1;
      value = words[at];
      if (value === undefined) throw new SpecError(`${word} needs a value`);
    }
    if (apply) apply(spec, value);
    else ignored.push(`${word}${inline === undefined ? ` ${value}` : ""}`);
    return at;
  }
  if (flag in SWITCHES) {
    if (inline === "false") return i;
    SWITCHES[flag]?.(spec);
    return i;
  }
  throw new SpecError(`unknown flag ${word}`);
}

/** The `docker run` line that makes this spec (what the CLI would need to recreate it). */
export function toDockerRun(spec: CreateSpec): string {
  const args: string[] = ["docker", "run", "-d"];
  const add = (flag: string, value: string) => args.push(flag, value);
  if (spec.name) add("--name", spec.name);
  if (spec.tty) args.push("-t");
  if (spec.interactive) args.push("-i");
  if (spec.autoRemove) args.push("--rm");
  if (spec.privileged) args.push("--privileged");
  if (spec.readOnly) args.push("--read-only");
  if (spec.init) args.push("--init");
  if (spec.user) add("--user", spec.user);
  if (spec.workdir) add("--workdir", spec.workdir);
  if (spec.hostname) add("--hostname", spec.hostname);
  for (const e of spec.env) add("-e", e);
  for (const p of spec.ports) add("-p", formatPort(p));
  for (const m of spec.mounts) {
    if (m.kind === "tmpfs") add("--tmpfs", m.target);
    else add("-v", formatVolume(m));
  }
  if (spec.network) add("--network", spec.network);
  for (const a of spec.aliases) add("--network-alias", a);
  if (spec.ipv4) add("--ip", spec.ipv4);
  if (spec.restart !== "no") {
    add(
      "--restart",
      spec.restart === "on-failure" && spec.restartRetries
        ? `on-failure:${spec.restartRetries}`
        : spec.restart,
    );
  }
  if (spec.cpus) add("--cpus", spec.cpus);
  if (spec.memory) add("--memory", spec.memory);
  if (spec.pids) add("--pids-limit", spec.pids);
  for (const [k, v] of spec.labels) add("--label", `${k}=${v}`);
  if (spec.health) {
    const h = spec.health;
    add("--health-cmd", h.cmd);
    if (h.interval) add("--health-interval", h.interval);
    if (h.timeout) add("--health-timeout", h.timeout);
    if (h.retries) add("--health-retries", h.retries);
    if (h.startPeriod) add("--health-start-period", h.startPeriod);
  }
  for (const d of spec.dns) add("--dns", d);
  for (const c of spec.capAdd) add("--cap-add", c);
  for (const c of spec.capDrop) add("--cap-drop", c);
  for (const d of spec.devices) add("--device", d);
  if (spec.gpus) add("--gpus", spec.gpus);
  if (spec.logDriver) add("--log-driver", spec.logDriver);
  for (const [k, v] of spec.logOpts) add("--log-opt", `${k}=${v}`);
  if (spec.entrypoint.length) add("--entrypoint", spec.entrypoint[0]!);
  args.push(spec.image);
  // An entrypoint of several words: the rest go before the command, as the engine runs them.
  args.push(...spec.entrypoint.slice(1), ...spec.cmd);
  return args.map(shellWord).join(" ");
}

/**
 * One word for a POSIX shell: as is when it is plain, else in single quotes (inside which nothing is
 * special; a quote itself is closed, escaped and reopened). shell-quote's own `quote` uses double
 * quotes for some words, whose backslash escapes its `parse` does not read back.
 */
function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
