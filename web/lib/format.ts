import type { ContainerItem, Port } from "../../src/protocol/views.ts";

export interface PortLabel {
  text: string;
  /** Set for published TCP ports, which are worth a link. */
  href?: string;
}

export function portLabels(ports: Port[]): PortLabel[] {
  const seen = new Map<string, PortLabel>();
  for (const p of ports) {
    // The engine lists a port published on both 0.0.0.0 and :: twice; one label says it.
    const text = p.public ? `${p.public}→${p.private}/${p.type}` : `${p.private}/${p.type}`;
    if (seen.has(text)) continue;
    const href = p.public && p.type === "tcp" ? `//${location.hostname}:${p.public}/` : undefined;
    seen.set(text, { text, href });
  }
  return [...seen.values()];
}

/** Like the engine's "Up 5 minutes", but from timestamps, so it stays true between frames. */
export function statusText(c: ContainerItem, now: number): string {
  const since = (iso: string | null) => {
    const t = iso ? Date.parse(iso) : Number.NaN;
    return t > 0 ? duration(now - t) : null;
  };
  switch (c.state) {
    case "running":
    case "paused": {
      const up = since(c.started_at);
      if (!up) return c.status;
      const health = c.health ? ` (${c.health})` : "";
      return c.state === "paused" ? `Up ${up} (Paused)` : `Up ${up}${health}`;
    }
    case "exited": {
      const ago = since(c.finished_at);
      return ago ? `Exited (${c.exit_code ?? "?"}) ${ago} ago` : c.status;
    }
    case "created":
      return "Created";
    default:
      return c.status;
  }
}

// Thresholds as in the engine's own status text (units switch late, so "36 hours" not "1 day").
function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = s / 86400;
  if (s < 1) return "less than a second";
  if (s < 60) return plural(s, "second");
  if (s < 3600) return plural(s / 60, "minute");
  if (days < 2) return plural(s / 3600, "hour");
  if (days < 14) return plural(days, "day");
  if (days < 60) return plural(days / 7, "week");
  if (days < 730) return plural(days / 30.44, "month");
  return plural(days / 365.25, "year");
}

function plural(n: number, unit: string): string {
  const whole = Math.floor(n);
  return `${whole} ${unit}${whole === 1 ? "" : "s"}`;
}
