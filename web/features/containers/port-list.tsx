import type { PortLabel } from "../../lib/format.ts";

export function PortList({ ports }: { ports: PortLabel[] }) {
  return (
    <span class="ports">
      {ports.map((p) =>
        p.href ? (
          <a key={p.text} href={p.href} target="_blank" rel="noopener noreferrer">
            {p.text}
          </a>
        ) : (
          <span key={p.text}>{p.text}</span>
        ),
      )}
    </span>
  );
}
