/** Tiny inline graphs for tables: one SVG polyline each, cheap enough for a hundred rows a second. */
import "./sparkline.css";

const W = 60;
const H = 20;

/**
 * The polyline's points for the last `slots` values, newest at the right edge. The scale's top is
 * the largest value or `floor`, whichever is higher, so near-idle figures stay a flat line.
 */
export function sparkPoints(values: readonly number[], slots: number, floor: number): string {
  if (values.length === 0) return "";
  const top = Math.max(floor, ...values);
  const dx = W / (slots - 1);
  const x0 = W - (values.length - 1) * dx;
  let out = "";
  values.forEach((v, i) => {
    const x = x0 + i * dx;
    const y = H - (Math.max(0, v) / top) * (H - 1);
    out += `${i ? " " : ""}${round(x)},${round(y)}`;
  });
  return out;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

interface Props {
  /** From sparkPoints: a string, so rows can tell at a glance whether theirs changed. */
  points: string;
  label?: string;
}

export function Sparkline({ points, label }: Props) {
  const first = points.slice(0, points.indexOf(","));
  const last = points.slice(points.lastIndexOf(" ") + 1).split(",")[0];
  return (
    <svg
      class="spark"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      data-testid="sparkline"
      role={label ? "img" : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : "true"}
    >
      <line class="spark-base" x1="0" y1={H} x2={W} y2={H} vector-effect="non-scaling-stroke" />
      {points && (
        <>
          <polygon class="spark-area" points={`${first},${H} ${points} ${last},${H}`} />
          <polyline class="spark-line" points={points} vector-effect="non-scaling-stroke" />
        </>
      )}
    </svg>
  );
}

/** A thin horizontal gauge, drawn in SVG (the page allows no inline styles to set a width). */
export function Gauge({ fraction, label }: { fraction: number; label?: string }) {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const level = f >= 0.9 ? " high" : f >= 0.75 ? " warm" : "";
  return (
    <svg class="gauge" viewBox="0 0 100 4" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect class="gauge-track" width="100" height="4" />
      <rect class={`gauge-fill${level}`} width={Math.max(f * 100, f > 0 ? 2 : 0)} height="4" />
    </svg>
  );
}
