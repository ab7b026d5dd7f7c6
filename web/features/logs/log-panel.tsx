import { lazy } from "../../lib/lazy.ts";
import type { LogSource } from "./log-viewer.tsx";

// The viewer (search, ANSI colours, the windowed list) loads with the first log shown, not with the page.
const useViewer = lazy(() => import("./log-viewer.tsx"));

interface Props {
  env: string;
  sources: LogSource[];
  runKey?: unknown;
  active: boolean;
}

/** One container's log, or several merged by time. */
export function LogPanel(props: Props) {
  const loaded = useViewer();
  if (!loaded) return <p class="muted">Loading…</p>;
  if ("error" in loaded)
    return (
      <p class="alert" role="alert">
        {loaded.error}
      </p>
    );
  return <loaded.module.LogViewer {...props} />;
}
