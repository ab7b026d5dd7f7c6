/**
 * A shell, a chosen command, or the main process attached, in a container (the `exec:` topic,
 * docs/protocol.md), drawn by xterm.js. This module and
 * xterm load only when a terminal is opened: they are kept out of the first load.
 */
import "./terminal.css";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import xtermCss from "@xterm/xterm/css/xterm.css" with { type: "file" };
import { useEffect, useRef, useState } from "preact/hooks";
import type { ExecOptions } from "../../../src/protocol/frames.ts";
import { topic as topicOf } from "../../../src/protocol/topics.ts";
import { useEnv, useStream } from "../../app/contexts.ts";

/** xterm's stylesheet, as a file of its own next to this chunk; the terminal is made once it applies. */
export const ready = new Promise<void>((resolve) => {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = xtermCss;
  link.onload = () => resolve();
  link.onerror = () => resolve();
  document.head.append(link);
});

const keys = new TextEncoder();

/** A new id per terminal: each is its own topic, with its own shell. Not randomUUID: plain http has none. */
function sessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * xterm 6's DOM renderer writes its theme and sizes into `<style>` elements it makes
 * (xtermjs/xterm.js#4445, no nonce option), which the panel's CSP (`style-src 'self'`) blocks. The
 * ones it makes while it opens are inert stand-ins whose text goes into constructable style sheets
 * instead: CSSOM, which CSP allows. Returns what removes those sheets again.
 */
function openUnderCsp(term: Terminal, parent: HTMLElement): () => void {
  const sheets: CSSStyleSheet[] = [];
  const create = document.createElement.bind(document);
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    if (tag.toLowerCase() !== "style") return create(tag, options);
    const sheet = new CSSStyleSheet();
    sheets.push(sheet);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    let css = "";
    // A <template>'s content is never rendered nor read as CSS.
    const standIn = create("template");
    Object.defineProperty(standIn, "textContent", {
      get: () => css,
      set: (text: string) => {
        css = text;
        sheet.replaceSync(text);
      },
    });
    return standIn;
  }) as typeof document.createElement;
  try {
    term.open(parent);
  } finally {
    // The document's own createElement (from its prototype) again.
    delete (document as { createElement?: unknown }).createElement;
  }
  return () => {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => !sheets.includes(s));
  };
}

type State =
  | { at: "starting" }
  | { at: "open" }
  | { at: "exited"; code: number | null }
  | { at: "refused"; message: string }
  /** the panel's connection dropped; `retrying` while the one automatic new session is on its way */
  | { at: "lost"; retrying: boolean };

/** Before the automatic new session, once the connection is back: a moment for a flapping link to settle. */
const RETRY_AFTER_MS = 1_000;

/** What the status line says the session is. */
function describe(opts: ExecOptions): string {
  if (opts.mode === "attach") return "the container's main process (attached)";
  const cmd = (opts.cmd ?? ["sh"]).join(" ");
  return `${cmd} as ${opts.user ? `user ${opts.user}` : "the image's user"}`;
}

export function ContainerTerminal({ id, opts }: { id: string; opts: ExecOptions }) {
  const stream = useStream();
  const env = useEnv().id;
  const box = useRef<HTMLDivElement>(null);
  const terminal = useRef<{ term: Terminal; fit: FitAddon } | null>(null);
  const [state, setState] = useState<State>({ at: "starting" });
  // Bumped for each new session (the automatic one after a drop, or a button): a new topic.
  const [run, setRun] = useState(0);
  // The automatic new session is tried once; after that, the Reconnect button.
  const retried = useRef(false);

  useEffect(() => {
    const parent = box.current;
    if (!parent) return;
    const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    const unstyle = openUnderCsp(term, parent);
    fit.fit();
    terminal.current = { term, fit };
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(parent);
    return () => {
      observer.disconnect();
      terminal.current = null;
      term.dispose();
      unstyle();
    };
  }, []);

  useEffect(() => {
    const term = terminal.current?.term;
    if (!term) return;
    setState({ at: "starting" });
    const topic = topicOf.exec(env, id, sessionId());
    let subscribed = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let waitForOpen = () => {};
    const unsubscribe = stream.subscribe(
      topic,
      (kind, data) => {
        if (kind === "started") {
          if (run > 0) term.write("\r\n\x1b[2m[a new session]\x1b[0m\r\n");
          setState({ at: "open" });
          stream.resize(topic, term.cols, term.rows);
          term.focus();
        } else if (kind === "output") {
          term.write(data as Uint8Array);
        } else if (kind === "exit") {
          subscribed = false;
          setState({ at: "exited", code: (data as { code: number | null }).code });
        } else if (kind === "error") {
          subscribed = false;
          setState({ at: "refused", message: (data as { message: string }).message });
        }
      },
      opts,
    );
    // The session ended with the connection (the server hangs up on it): not resubscribed as is.
    const offStatus = stream.onStatus((status) => {
      if (status !== "lost" || !subscribed) return;
      subscribed = false;
      unsubscribe();
      term.write("\r\n\x1b[2m[connection to the panel lost]\x1b[0m\r\n");
      const auto = !retried.current;
      retried.current = true;
      setState({ at: "lost", retrying: auto });
      if (!auto) return;
      waitForOpen = stream.onStatus((now) => {
        if (now !== "open") return;
        waitForOpen();
        retry = setTimeout(() => setRun((n) => n + 1), RETRY_AFTER_MS);
      });
    });
    const typed = term.onData((text) => stream.input(topic, keys.encode(text)));
    const resized = term.onResize(({ cols, rows }) => stream.resize(topic, cols, rows));
    return () => {
      offStatus();
      waitForOpen();
      clearTimeout(retry);
      typed.dispose();
      resized.dispose();
      // Leaving the topic ends the session (a shell and whatever runs in it; an attach detaches).
      if (subscribed) unsubscribe();
    };
  }, [stream, env, id, run, opts]);

  const what = describe(opts);
  const again = (label: string) => (
    <button type="button" data-testid="terminal-again" onClick={() => setRun((n) => n + 1)}>
      {label}
    </button>
  );
  return (
    <div class="terminal-wrap">
      <p class="terminal-note muted" role="status" data-testid="terminal-state" data-state={state.at}>
        {state.at === "starting"
          ? `Starting ${what}…`
          : state.at === "open"
            ? `Connected: ${what}. Leaving this tab ends it${opts.mode === "attach" ? " (detaches)" : ""}.`
            : state.at === "exited"
              ? `It ended${state.code === null ? "" : ` with code ${state.code}`}.`
              : state.at === "lost"
                ? state.retrying
                  ? "Connection to the panel lost: reconnecting (a new session)…"
                  : "Connection to the panel lost."
                : state.message}
        {state.at === "lost" && !state.retrying && again("Reconnect")}
        {(state.at === "exited" || state.at === "refused") && again("New session")}
      </p>
      <div class="terminal" ref={box} />
    </div>
  );
}
