import pkg from "../package.json" with { type: "json" };
import { ConfigError, parseServeArgs, SERVE_USAGE } from "./server/config.ts";

const USAGE = `GhostPanel ${pkg.version}: container management in one executable.

Usage:
  ghostpanel [serve] [options]   run the panel (see ghostpanel serve --help)
  ghostpanel --version           print the version

${SERVE_USAGE}`;

export async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === "--version" || verb === "version") {
    console.log(pkg.version);
    return;
  }
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
    // Loaded here so that `--version` and `--help` answer without loading the whole server.
    const { startPanel } = await import("./server/serve.ts");
    const panel = await startPanel(config, pkg.version);
    const shutdown = async () => {
      await panel.stop();
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

/** The process entry: from source (`bun src/main.ts`) and from the compiled executable. */
export function runMain(): void {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

if (import.meta.main) runMain();
