import { useEffect, useRef, useState } from "preact/hooks";
import type { LogLine } from "../../../src/protocol/views.ts";
import { useTopic } from "../../lib/live.ts";

const MAX_LINES = 5000;
/** How close to the bottom (px) still counts as "at the bottom", so following survives rounding. */
const SLACK = 24;
// Colour and cursor escapes would show up as garbage: a text view drops them.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");

const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

interface Props {
  topic: string;
  /** Changes when the container starts again, to follow its new output after an `end`. */
  runKey: unknown;
  /** False while hidden behind another tab, where scrolling has no effect. */
  active: boolean;
}

/**
 * Lines go straight into the DOM rather than through Preact: a busy container writes thousands of
 * lines, and diffing them all on every frame would cost far more than appending the new ones.
 */
export function LogView({ topic, runKey, active }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const lastTime = useRef<number>(Number.NaN);
  const [following, setFollowing] = useState(true);
  const [ended, setEnded] = useState<string | null>(null);
  const followRef = useRef(true);
  followRef.current = following;

  useTopic(
    topic,
    (kind, data, first) => {
      const el = box.current;
      if (!el) return;
      if (kind === "lines") {
        setEnded(null);
        let lines = data as LogLine[];
        if (first && el.firstChild) {
          // A resubscription resends the recent tail: keep what came after the lines already shown,
          // or, without timestamps to tell, start over from the tail.
          if (Number.isNaN(lastTime.current)) el.replaceChildren();
          else lines = lines.filter((l) => !l.time || Date.parse(l.time) > lastTime.current);
        }
        append(el, lines, followRef.current);
        const last = lines.at(-1)?.time;
        if (last) lastTime.current = Date.parse(last);
      } else if (kind === "end") {
        const reason = (data as { reason?: string } | null)?.reason;
        setEnded(reason ? `Log stream ended: ${reason}.` : "Log stream ended.");
      } else if (kind === "error") {
        setEnded((data as { message?: string } | null)?.message ?? "Logs are not available.");
      }
    },
    runKey,
  );

  useEffect(() => {
    if (active && following && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [active, following]);

  return (
    <div class="logs-wrap">
      <div
        ref={box}
        class="logs"
        data-testid="logs"
        role="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          // The ref too, at once: a frame arriving before the re-render must not yank the reader down.
          followRef.current = el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
          setFollowing(followRef.current);
        }}
      />
      {ended && <p class="logs-note">{ended}</p>}
      {!following && (
        <button type="button" class="jump" onClick={() => setFollowing(true)}>
          ↓ Follow
        </button>
      )}
    </div>
  );
}

function append(el: HTMLElement, lines: LogLine[], follow: boolean): void {
  const frag = document.createDocumentFragment();
  for (const line of lines) {
    const row = document.createElement("div");
    row.className = line.stream === "stderr" ? "ln err" : "ln";
    if (line.time) {
      const ts = document.createElement("time");
      ts.dateTime = line.time;
      ts.title = line.time;
      const t = Date.parse(line.time);
      ts.textContent = Number.isNaN(t) ? line.time : clock.format(t);
      row.append(ts);
    }
    row.append(line.text.replace(ANSI, ""));
    frag.append(row);
  }
  el.append(frag);
  const excess = el.childElementCount - MAX_LINES;
  if (excess > 0) {
    const before = el.scrollHeight;
    for (let i = 0; i < excess; i++) el.firstElementChild?.remove();
    // Keep a reader who scrolled up looking at the same lines while old ones vanish above them.
    if (!follow) el.scrollTop -= before - el.scrollHeight;
  }
  if (follow) el.scrollTop = el.scrollHeight;
}
