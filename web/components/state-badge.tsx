import type { ContainerState } from "../lib/types.ts";

export function StateBadge({ state }: { state: ContainerState }) {
  return (
    <span class={`badge st-${state}`} data-testid="state">
      {state}
    </span>
  );
}
