import pkg from "../package.json" with { type: "json" };
import { ConfigError, parseServeArgs, SERVE_USAGE } from "./server/config.ts";

const USAGE = `GhostPanel ${pkg.version}: container management in one executable.

Usage:
  ghostpanel [serve] [options]   run the panel (see ghostpanel serve --help)
  ghostpanel agent [options]     run an edge agent beside an engine (see ghostpanel agent --help)
  ghostpanel watch [options]     live stats of an environment in the terminal (see ghostpanel watch --help)
  ghostpanel --version           print the version

${SERVE_USAGE}`;

/** `beforePanel` runs once the listener is open, before the rest of the panel loads (build.ts). */
export async function main(argv: string[], beforePanel?: () => Promise<void>): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === "--version" || verb === "version") {
    console.log(pkg.version);
    return;
  }
  if (verb === "agent") return agent(rest);
  if (verb === "watch") return watch(rest);
  if (verb === "--help" || verb === "-h" || verb === "help" || rest.includes("--help")) {
    console.log(USAGE);
    return;
  }
  const args = verb === "serve" ? rest : verb === undefined ? [] : verb.startsWith("-") ? argv : null;
  if (args === null) {
    console.error(`ghostpanel: unknown command "${verb}"\n\n${USAGE}`);
    process.exit(2);
  }
  try {
    const config = parseServeArgs(args, process.env);
    // The listener first, then the rest of the panel behind it (src/server/listen.ts); loaded here
    // so that `--version` and `--help` answer without loading the server.
    const { openListener } = await import("./server/listen.ts");
    const listener = await openListener(config, pkg.version);
    const { loadPanel } = await import("./server/load-panel.ts");
    const { startPanel } = await loadPanel(beforePanel);
    const panel = await startPanel(config, pkg.version, console.log, listener);
    keepServingThroughStrayErrors();
    const shutdown = async () => {
      try {
        await panel.stop();
      } catch (err) {
        console.error(`ghostpanel: stopping: ${(err as Error)?.message ?? err}`);
        process.exit(1);
      }
      process.exit(0);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ghostpanel: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

async function agent(args: string[]): Promise<void> {
  // Loaded here: the panel never needs the agent's code, nor the agent the panel's.
  const { AGENT_USAGE, AgentConfigError, parseAgentArgs, runAgent } = await import("./agent/run.ts");
  if (args.includes("--help") || args.includes("-h")) {
    console.log(AGENT_USAGE);
    return;
  }
  try {
    const config = parseAgentArgs(args, process.env);
    const stop = () => process.exit(0);
    keepServingThroughStrayErrors();
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    const { keepHandingBackPages } = await import("./server/hand-back-pages.ts");
    keepHandingBackPages();
    await runAgent(config);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      console.error(`ghostpanel agent: ${err.message}\n\n${AGENT_USAGE}`);
      process.exit(2);
    }
    throw err;
  }
}

async function watch(args: string[]): Promise<void> {
  const { WATCH_USAGE, WatchError, parseWatchArgs, runWatch } = await import("./watch/run.ts");
  if (args.includes("--help") || args.includes("-h")) {
    console.log(WATCH_USAGE);
    return;
  }
  const fail = (err: unknown, code: number) => {
    if (!(err instanceof WatchError)) throw err;
    console.error(`ghostpanel watch: ${err.message}${code === 2 ? `\n\n${WATCH_USAGE}` : ""}`);
    process.exit(code);
  };
  let config: ReturnType<typeof parseWatchArgs> | undefined;
  try {
    config = parseWatchArgs(args, process.env);
  } catch (err) {
    fail(err, 2);
  }
  try {
    await runWatch(config!);
    // The link and its timers would keep the process up: --once is done.
    process.exit(0);
  } catch (err) {
    fail(err, 1);
  }
}

/**
 * The last resort: an error nothing caught (thrown in a callback, a rejection nobody awaited) is a
 * bug to fix where it happens, but it must not take every user's panel down with it. Installed once
 * the panel serves, so that a failed start still ends the process.
 */
export function keepServingThroughStrayErrors(): void {
  const report = (kind: string) => (err: unknown) => {
    const e = err as Error | undefined;
    const at = e?.stack
      ?.split("\n")
      .find((l) => l.trimStart().startsWith("at "))
      ?.trim();
    console.error(
      `ghostpanel: ${kind} (still serving): ${e?.name ?? "Error"}: ${e?.message ?? String(err)}${at ? ` ${at}` : ""}`,
    );
  };
  process.on("uncaughtException", report("uncaught error"));
  process.on("unhandledRejection", report("unhandled rejection"));
}

/** The process entry: from source (`bun src/main.ts`) and from the compiled executable. */
export function runMain(beforePanel?: () => Promise<void>): void {
  main(process.argv.slice(2), beforePanel).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

if (import.meta.main) runMain();
