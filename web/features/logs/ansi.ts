/**
 * ANSI colour escapes (SGR) turned into styled runs of text, never into markup: a log line is
 * whatever a container printed, so it only ever reaches the page as text nodes. Other escapes
 * (cursor moves, erasing) are dropped.
 */
export interface Run {
  text: string;
  /** a class per named colour or attribute (`a-fg1`, `a-b`…), for the 16 colours the theme picks */
  cls?: string;
  /** 256-colour and true-colour values, as CSS colours */
  fg?: string;
  bg?: string;
}

const ESC = String.fromCharCode(27);
const BEL = String.fromCharCode(7);
// CSI sequences (ESC [ params letter; SGR is the one ending in "m"), OSC (ESC ] … BEL or ESC \\, a
// title or a link) and the two-character escapes.
const ESCAPES = new RegExp(
  `${ESC}(?:\\[([0-9;:?]*)([A-Za-z])|\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)?|[0-Z\\\\-~])`,
  "g",
);

export function hasEscapes(text: string): boolean {
  return text.includes(ESC);
}

/** The text as shown: without escapes. */
export function plainText(text: string): string {
  return hasEscapes(text) ? text.replace(ESCAPES, "") : text;
}

interface Style {
  fg: string | number | null;
  bg: string | number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const RESET: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

/** xterm's 256-colour table beyond the first 16: a 6×6×6 cube, then 24 greys. */
function color256(n: number): string | number {
  if (n < 16) return n;
  if (n < 232) {
    const c = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(c / 36))},${level(Math.floor(c / 6) % 6)},${level(c % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

/** Reads an extended colour (`38;5;n` or `38;2;r;g;b`) from `codes` at `i`; returns it and the codes used. */
function extended(codes: number[], i: number): [string | number | null, number] {
  if (codes[i + 1] === 5) return [color256(codes[i + 2] ?? 0), 3];
  if (codes[i + 1] === 2) {
    const [r = 0, g = 0, b = 0] = codes.slice(i + 2, i + 5);
    return [`rgb(${r & 255},${g & 255},${b & 255})`, 5];
  }
  return [null, 1];
}

function apply(style: Style, params: string): Style {
  const s = { ...style };
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(s, RESET);
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c === 39) s.fg = null;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 49) s.bg = null;
    else if (c === 38 || c === 48) {
      const [color, used] = extended(codes, i);
      if (c === 38) s.fg = color;
      else s.bg = color;
      i += used - 1;
    }
  }
  return s;
}

function toRun(text: string, s: Style): Run {
  const run: Run = { text };
  const cls: string[] = [];
  if (typeof s.fg === "number") cls.push(`a-fg${s.fg}`);
  else if (s.fg) run.fg = s.fg;
  if (typeof s.bg === "number") cls.push(`a-bg${s.bg}`);
  else if (s.bg) run.bg = s.bg;
  if (s.bold) cls.push("a-b");
  if (s.dim) cls.push("a-d");
  if (s.italic) cls.push("a-i");
  if (s.underline) cls.push("a-u");
  if (cls.length) run.cls = cls.join(" ");
  return run;
}

/** A line as runs of equally styled text; a line without escapes is one plain run. */
export function parseAnsi(text: string): Run[] {
  if (!hasEscapes(text)) return [{ text }];
  const runs: Run[] = [];
  let style = RESET;
  let at = 0;
  for (const m of text.matchAll(ESCAPES)) {
    if (m.index > at) runs.push(toRun(text.slice(at, m.index), style));
    if (m[2] === "m") style = apply(style, m[1] ?? "");
    at = m.index + m[0].length;
  }
  if (at < text.length) runs.push(toRun(text.slice(at), style));
  return runs;
}
