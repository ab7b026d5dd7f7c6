import type { ComponentChildren } from "preact";
import { useId, useLayoutEffect, useRef } from "preact/hooks";

interface Props {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ComponentChildren;
}

/** A modal question; the parent mounts it to ask and unmounts it once answered. */
export function ConfirmDialog({ title, confirmLabel, danger, onConfirm, onCancel, children }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // Before paint, not after: a key pressed right after the click that asked must reach the dialog.
  useLayoutEffect(() => {
    const dialog = ref.current;
    dialog?.showModal();
    // Closing (rather than just dropping) the dialog hands the focus back to the button that opened it.
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        <div class="dialog-buttons">
          <button type="button" data-testid="cancel" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class={danger ? "danger" : "primary"} data-testid="confirm">
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
