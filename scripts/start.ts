/**
 * `npm start [-- ARGS]`: builds dist/ghostpanel when it is missing or older than its sources, then
 * runs it with ARGS. The panel prints its URL, the first-run hint and, without an engine, how to
 * point it at one.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const BINARY = join(ROOT, "dist", "ghostpanel");
const SOURCES = ["src", "web", "package.json", "package-lock.json", "tsconfig.json", "build.ts"];

/** Newest modification time under `path` (a file or a directory tree); 0 when absent. */
function newestMtime(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows up as a newer directory
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function stale(): string | undefined {
  if (!existsSync(BINARY)) return "dist/ghostpanel is missing";
  const built = statSync(BINARY).mtimeMs;
  const changed = SOURCES.find((s) => newestMtime(join(ROOT, s)) > built);
  return changed ? `${changed} changed since the last build` : undefined;
}

const reason = stale();
if (reason) {
  console.error(`start: ${reason}; building (linux-x64 only)…`);
  const build = Bun.spawnSync([process.execPath, join(ROOT, "build.ts")], {
    cwd: ROOT,
    env: { ...process.env, GHOSTPANEL_BUILD_ARM64: "0" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  if (build.exitCode !== 0) {
    console.error("start: the build failed; see above.");
    process.exit(build.exitCode ?? 1);
  }
}

// Replace this process with the panel: signals, stdio and the exit code are then the panel's own.
// Bun (pinned at 1.4.4) has execve.
process.execve!(BINARY, [BINARY, ...process.argv.slice(2)], process.env);
