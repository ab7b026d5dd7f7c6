import type { EnvironmentView } from "../../src/protocol/views.ts";
import type { StreamStatus } from "../lib/stream.ts";

interface Props {
  status: StreamStatus;
  env: EnvironmentView | undefined;
}

export function EngineBanner({ status, env }: Props) {
  // With the socket down the engine status is stale, so the connection problem is the one to show.
  let text: string | null = null;
  if (status === "lost") text = "Connection to panel lost, reconnecting…";
  else if (env?.status === "down") text = `Engine unreachable: ${env.error ?? "no answer"}. Reconnecting…`;
  if (!text) return null;
  return (
    <div class="banner" data-testid="engine-banner" role="status">
      {text}
    </div>
  );
}
