import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

export interface MenuItem {
  key: string;
  label: string;
  icon?: ComponentChildren;
  danger?: boolean;
  onSelect: () => void;
}

/**
 * A button that opens a short list of actions: one tab stop per row instead of five buttons.
 * Arrow keys move in the list, Escape closes it and gives the focus back.
 */
export function Menu({
  label,
  items,
  children,
  busy,
}: {
  label: string;
  items: MenuItem[];
  children: ComponentChildren;
  busy?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const id = useId();
  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    addEventListener("pointerdown", away);
    root.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    return () => removeEventListener("pointerdown", away);
  }, [open]);
  const close = () => {
    setOpen(false);
    root.current?.querySelector<HTMLElement>("button[aria-haspopup]")?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    const entries = [...(root.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = entries.indexOf(document.activeElement as HTMLElement);
    if (e.key === "Escape") close();
    else if (e.key === "ArrowDown") entries[(at + 1) % entries.length]?.focus();
    else if (e.key === "ArrowUp") entries[(at - 1 + entries.length) % entries.length]?.focus();
    else return;
    e.preventDefault();
  };
  return (
    <div class="menu" ref={root}>
      <button
        type="button"
        class="quiet menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={id}
        aria-label={label}
        aria-busy={busy}
        disabled={items.length === 0}
        onClick={() => setOpen(!open)}
      >
        {children}
      </button>
      {open && (
        <div class="menu-list" role="menu" id={id} onKeyDown={onKey}>
          {items.map((item) => (
            <button
              type="button"
              role="menuitem"
              key={item.key}
              data-action={item.key}
              class={item.danger ? "danger-text" : undefined}
              onClick={() => {
                setOpen(false);
                item.onSelect();
              }}
            >
              {item.icon}
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
