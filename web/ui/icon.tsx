import { h } from "preact";

/** A lucide icon's drawing: the `lucide` package's data, imported one icon at a time (tree-shaken). */
export type IconNode = [tag: string, attrs: Record<string, string | number | undefined>][];

/** An icon beside text says nothing on its own (hidden from screen readers); alone, give it a label. */
export function Icon({ icon, label, size = 16 }: { icon: IconNode; label?: string; size?: number }) {
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width={2}
      stroke-linecap="round"
      stroke-linejoin="round"
      class="icon"
      role={label ? "img" : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : "true"}
    >
      {icon.map(([tag, attrs]) => h(tag, attrs))}
    </svg>
  );
}
