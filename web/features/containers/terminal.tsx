/**
 * A shell in a container (the `exec:` topic, docs/protocol.md), drawn by xterm.js. This module and
 * xterm load only when a terminal is opened: they are kept out of the first load.
 */
import "./terminal.css";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import xtermCss from "@xterm/xterm/css/xterm.css" with { type: "file" };
import { useEffect, useRef, useState } from "preact/hooks";
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
  | { at: "refused"; message: string };

export function ContainerTerminal({ id }: { id: string }) {
  const stream = useStream();
  const env = useEnv().id;
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<State>({ at: "starting" });
  // Bumped by "New session": a new topic, so a new shell.
  const [run, setRun] = useState(0);

  useEffect(() => {
    const parent = box.current;
    if (!parent) return;
    setState({ at: "starting" });
    const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    const unstyle = openUnderCsp(term, parent);
    fit.fit();
    const topic = topicOf.exec(env, id, sessionId());
    let starts = 0;
    const unsubscribe = stream.subscribe(topic, (kind, data) => {
      if (kind === "started") {
        // The stream reconnected and subscribed again: the old shell ended with the connection.
        if (starts++ > 0) term.write("\r\n[connection lost: this is a new shell]\r\n");
        setState({ at: "open" });
        stream.resize(topic, term.cols, term.rows);
        term.focus();
      } else if (kind === "output") {
        term.write(data as Uint8Array);
      } else if (kind === "exit") {
        const code = (data as { code: number | null }).code;
        setState({ at: "exited", code });
      } else if (kind === "error") {
        setState({ at: "refused", message: (data as { message: string }).message });
      }
    });
    const typed = term.onData((text) => stream.input(topic, keys.encode(text)));
    const resized = term.onResize(({ cols, rows }) => stream.resize(topic, cols, rows));
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(parent);
    return () => {
      observer.disconnect();
      typed.dispose();
      resized.dispose();
      // Leaving the topic ends the shell and whatever runs in it.
      unsubscribe();
      term.dispose();
      unstyle();
    };
  }, [stream, env, id, run]);

  return (
    <div class="terminal-wrap">
      <p class="terminal-note muted" role="status">
        {state.at === "starting"
          ? "Starting a shell (sh)…"
          : state.at === "open"
            ? "Shell (sh) in the container, as its own user. Leaving this tab ends it."
            : state.at === "exited"
              ? `The shell exited${state.code === null ? "" : ` with code ${state.code}`}.`
              : state.message}
        {(state.at === "exited" || state.at === "refused") && (
          <button type="button" onClick={() => setRun((n) => n + 1)}>
            New session
          </button>
        )}
      </p>
      <div class="terminal" ref={box} />
    </div>
  );
}
