import { existsSync } from "node:fs";
import { BINARY } from "./binary.ts";

export interface AgentProcess {
  pid: number;
  output: () => string;
  /** resolves with the exit code once the process has ended */
  exited: Promise<number>;
  /** waits until the output matches, or the process ends, or the bound passes */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<boolean>;
  /** SIGKILL, as a crash or a power cut would */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `ghostpanel agent …` from the built executable, as a process of its own. */
export function startAgent(args: string[]): AgentProcess {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`bun build.ts\` first`);
  const proc = Bun.spawn([BINARY, "agent", ...args], { stdout: "pipe", stderr: "pipe" });
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += Buffer.from(value).toString();
    }
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const agent: AgentProcess = {
    pid: proc.pid,
    output: () => out,
    exited: proc.exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (pattern.test(out)) return true;
        if (proc.exitCode !== null) {
          await Bun.sleep(50);
          return pattern.test(out);
        }
        await Bun.sleep(25);
      }
      return false;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const done = await Promise.race([proc.exited, Bun.sleep(5_000).then(() => "timeout")]);
      if (done === "timeout") await agent.kill();
    },
  };
  return agent;
}
