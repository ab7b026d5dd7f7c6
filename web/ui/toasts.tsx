import { type ComponentChildren, createContext } from "preact";
import { useCallback, useContext, useState } from "preact/hooks";

export interface Toast {
  kind: "ok" | "error";
  text: string;
}

const SHOWN_MS = { ok: 4_000, error: 10_000 };

const ToastContext = createContext<(toast: Toast) => void>(() => {});

/** Says how an action ended, briefly, without moving the reader: `toast({kind, text})`. */
export const useToast = () => useContext(ToastContext);

export function Toasts({ children }: { children: ComponentChildren }) {
  const [shown, setShown] = useState<(Toast & { id: number })[]>([]);
  const toast = useCallback((t: Toast) => {
    const id = Math.random();
    setShown((list) => [...list.slice(-3), { ...t, id }]);
    setTimeout(() => setShown((list) => list.filter((x) => x.id !== id)), SHOWN_MS[t.kind]);
  }, []);
  return (
    <ToastContext.Provider value={toast}>
      {children}
      <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
        {shown.map((t) => (
          <ToastItem
            key={t.id}
            toast={t}
            onClose={() => setShown((list) => list.filter((x) => x.id !== t.id))}
          />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function ToastItem({ toast, onClose }: { toast: Toast; onClose: () => void }) {
  return (
    <div class={`toast toast-${toast.kind}`} data-kind={toast.kind}>
      <span>{toast.text}</span>
      <button type="button" class="quiet" aria-label="Dismiss" onClick={onClose}>
        ×
      </button>
    </div>
  );
}
