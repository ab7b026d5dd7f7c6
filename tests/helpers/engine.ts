import { readdirSync, readFileSync } from "node:fs";

/**
 * The real Docker engine the tests run against (scripts/setup-engine.sh brings it up). Everything a
 * test makes carries RUN_LABEL and a name starting with PREFIX, and cleanupEngine() removes it.
 */
export const TEST_IMAGE = process.env.GHOSTPANEL_TEST_IMAGE ?? "ghostpanel-test/busybox:latest";
export const RUN_ID = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;
export const PREFIX = `gptest-${RUN_ID}-`;
export const RUN_LABEL = `ghostpanel.test=${RUN_ID}`;

export function docker(...args: string[]): string {
  const res = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) {
    throw new Error(`docker ${args.join(" ")} failed: ${res.stderr.toString().trim()}`);
  }
  return res.stdout.toString().trim();
}

let counter = 0;
/** A unique container name for this run. */
export function uniqueName(hint = "c"): string {
  return `${PREFIX}${hint}-${++counter}`;
}

/** `docker run -d` of the busybox test image; returns the full id. */
export function runContainer(
  name: string,
  command: string[] = ["sleep", "3600"],
  extra: string[] = [],
): string {
  return docker("run", "-d", "--name", name, "--label", RUN_LABEL, ...extra, TEST_IMAGE, ...command);
}

export function createContainer(
  name: string,
  command: string[] = ["sleep", "3600"],
  extra: string[] = [],
): string {
  return docker("create", "--name", name, "--label", RUN_LABEL, ...extra, TEST_IMAGE, ...command);
}

/**
 * A shell command (for the test image) making `thousands` thousand empty directories under `dir`.
 * The engine deletes them one by one, about 8,000 a second on the test engine: removing where they
 * are keeps it busy well past the panel's 10 s idle time.
 */
export function manyDirectories(dir: string, thousands: number): string {
  return `cd ${dir} && for d in $(seq 1 ${thousands}); do mkdir $d && (cd $d && seq 1 1000 | xargs mkdir); done`;
}

/** Runs a shell `script` in a throwaway container with `volume` at /v (read-only when asked); its output. */
export function inVolume(volume: string, script: string, readOnly = false): string {
  return docker(
    "run",
    "--rm",
    "--label",
    RUN_LABEL,
    "-v",
    `${volume}:/v${readOnly ? ":ro" : ""}`,
    TEST_IMAGE,
    "sh",
    "-c",
    script,
  );
}

export function containerState(ref: string): string {
  return docker("inspect", "-f", "{{.State.Status}}", ref);
}

const localProcs = new Map<string, string | undefined>();

/**
 * The shells (`sh` with no arguments: what the exec topic starts) running in a container. When the
 * engine runs on this machine they are read from /proc, at once (`docker top` takes 0.2-0.4 s, too
 * coarse to time a hang-up with); otherwise from `docker top`, spawned so that an in-process panel
 * goes on answering meanwhile.
 */
export async function shellsIn(container: string): Promise<number> {
  if (!localProcs.has(container)) {
    const [id = "", pid = ""] = docker("inspect", "-f", "{{.Id}} {{.State.Pid}}", container).split(" ");
    localProcs.set(container, readProc(pid, "cgroup")?.includes(id) ? id : undefined);
  }
  const id = localProcs.get(container);
  if (id) {
    return readdirSync("/proc").filter(
      (pid) =>
        /^\d+$/.test(pid) && readProc(pid, "cmdline") === "sh\0" && readProc(pid, "cgroup")?.includes(id),
    ).length;
  }
  const proc = Bun.spawn(["docker", "top", container, "-o", "pid,args"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0)
    throw new Error(`docker top ${container} failed: ${await new Response(proc.stderr).text()}`);
  return out
    .split("\n")
    .slice(1)
    .filter((line) => /\bsh\s*$/.test(line)).length;
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    // gone meanwhile, or not ours to read
    return undefined;
  }
}

export function cleanupEngine(): void {
  const ids = docker("ps", "-aq", "--filter", `label=${RUN_LABEL}`).split("\n").filter(Boolean);
  if (ids.length) docker("rm", "-f", "-v", ...ids);
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
