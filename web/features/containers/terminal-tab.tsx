import { useState } from "preact/hooks";
import { parse } from "shell-quote";
import type { ExecOptions } from "../../../src/protocol/frames.ts";
import { lazy } from "../../lib/lazy.ts";

// xterm.js (~100 KB gzipped) loads with the first terminal opened.
const useTerminal = lazy(() =>
  import("./terminal.tsx").then(async (m) => {
    await m.ready;
    return m;
  }),
);

type What = "sh" | "bash" | "custom" | "attach";

/**
 * The command as the argv it is sent as: quotes group words as a shell would, but no shell runs it,
 * so `;`, `|` or `$(…)` are refused here rather than taken for words the user did not mean.
 */
export function argvOf(text: string): string[] | string {
  let words: ReturnType<typeof parse>;
  try {
    words = parse(text, (name) => `$${name}`);
  } catch {
    return "the command could not be read: check its quotes";
  }
  const argv: string[] = [];
  for (const w of words) {
    if (typeof w !== "string") return "no shell reads this command: for pipes or ;, run sh -c '…'";
    argv.push(w);
  }
  return argv.length ? argv : "enter a command";
}

/** Chooses what to run (and as whom) before a terminal opens; Close ends it and comes back here. */
export function TerminalTab({ id }: { id: string }) {
  const [what, setWhat] = useState<What>("sh");
  const [custom, setCustom] = useState("");
  const [user, setUser] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [opened, setOpened] = useState<ExecOptions | null>(null);

  if (opened) {
    return (
      <div>
        <button type="button" data-testid="terminal-close" onClick={() => setOpened(null)}>
          Close
        </button>
        <Loaded id={id} opts={opened} />
      </div>
    );
  }
  const open = (e: Event) => {
    e.preventDefault();
    if (what === "attach") return setOpened({ mode: "attach" });
    const argv = what === "custom" ? argvOf(custom) : [what];
    if (typeof argv === "string") return setProblem(argv);
    setProblem(null);
    setOpened({ cmd: argv, user: user.trim() });
  };
  return (
    <form class="terminal-choose" onSubmit={open} data-testid="terminal-form">
      <fieldset>
        <legend>Run</legend>
        {(
          [
            ["sh", "sh"],
            ["bash", "bash"],
            ["custom", "A command"],
            ["attach", "Attach to the main process"],
          ] as const
        ).map(([value, label]) => (
          <label key={value}>
            <input
              type="radio"
              name="what"
              value={value}
              checked={what === value}
              onChange={() => setWhat(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      {what === "custom" && (
        <label>
          Command
          <input
            name="command"
            class="mono"
            placeholder="e.g. top -d 1"
            value={custom}
            onInput={(e) => setCustom(e.currentTarget.value)}
          />
        </label>
      )}
      {what !== "attach" ? (
        <label>
          User
          <input
            name="user"
            placeholder="the image's user"
            autocomplete="off"
            value={user}
            onInput={(e) => setUser(e.currentTarget.value)}
          />
        </label>
      ) : (
        <p class="muted">
          Your keys go to the process the container runs (Ctrl-C stops it if it heeds SIGINT); leaving
          detaches and leaves it running.
        </p>
      )}
      {problem && (
        <p class="alert" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" class="primary" data-testid="terminal-open">
        Open
      </button>
    </form>
  );
}

function Loaded({ id, opts }: { id: string; opts: ExecOptions }) {
  const loaded = useTerminal();
  if (!loaded) return <p class="muted">Loading…</p>;
  if ("error" in loaded)
    return (
      <p class="alert" role="alert">
        {loaded.error}
      </p>
    );
  return <loaded.module.ContainerTerminal key={id} id={id} opts={opts} />;
}
