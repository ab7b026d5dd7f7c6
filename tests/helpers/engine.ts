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

export function containerState(ref: string): string {
  return docker("inspect", "-f", "{{.State.Status}}", ref);
}

/** The shells (`sh` with no arguments: what the exec topic starts) running in a container. */
export function shellsIn(container: string): number {
  return docker("top", container, "-o", "pid,args")
    .split("\n")
    .slice(1)
    .filter((line) => /\bsh\s*$/.test(line)).length;
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
