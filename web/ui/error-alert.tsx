interface Props {
  message: string | null;
  onDismiss: () => void;
}

export function ErrorAlert({ message, onDismiss }: Props) {
  if (!message) return null;
  return (
    <div class="alert toast" role="alert">
      <span>{message}</span>
      <button type="button" class="quiet" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
