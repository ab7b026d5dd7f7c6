/**
 * Many edge agents in one process, for the `quic` group's idle-agents figure (bench/quic.ts):
 * `bun bench/lib/agent-swarm.ts <panel URL> <engine URL> <dir> <join token>…`. Each is the real
 * agent (src/agent/run.ts: QUIC, the pinned certificate, its own key, the join token) with a data
 * directory of its own; they share this process only so that a hundred of them do not cost a
 * hundred runtimes. Runs until killed.
 */
import { join } from "node:path";
import { parseAgentArgs, runAgent } from "../../src/agent/run.ts";

const [panel = "", engine = "", dir = "", ...tokens] = process.argv.slice(2);
for (const [i, token] of tokens.entries()) {
  const config = parseAgentArgs(
    ["--panel", panel, "--join", token, "--engine", engine, "--data", join(dir, `agent-${i}`)],
    {},
  );
  void runAgent(config, (line) => console.error(`agent ${i}: ${line}`));
}
