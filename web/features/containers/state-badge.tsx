export function StateBadge({ state }: { state: string }) {
  return (
    <span class={`badge st-${state}`} data-testid="state">
      {state}
    </span>
  );
}
