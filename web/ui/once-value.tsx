import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";

/** A secret shown once (a new token, a join command): selectable, with Copy and Done. */
export function OnceValue({
  label,
  value,
  testId,
  onDone,
  children,
}: {
  label: string;
  value: string;
  testId: string;
  onDone: () => void;
  /** what to say about it: shown in bold above the value */
  children: ComponentChildren;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<string | null>(null);
  return (
    <div class="once" data-testid={testId}>
      <p>
        <strong>{children}</strong>
      </p>
      <div class="form-row">
        <input
          ref={input}
          class="mono"
          readOnly
          aria-label={label}
          value={value}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          onClick={async () => {
            try {
              // Undefined outside secure pages (HTTPS or localhost): the catch selects the text instead.
              await navigator.clipboard.writeText(value);
              setCopy("Copied.");
            } catch {
              input.current?.select();
              setCopy("Could not copy: the text is selected, press Ctrl+C.");
            }
          }}
        >
          Copy
        </button>
        <button type="button" class="quiet" onClick={onDone}>
          Done
        </button>
      </div>
      {copy && (
        <p class="muted" role="status">
          {copy}
        </p>
      )}
    </div>
  );
}
