import { useEffect } from "preact/hooks";
import type { Stream } from "../../lib/stream.ts";
import { HostPanel } from "./host-panel.tsx";
import { HostStats } from "./stats-panel.tsx";

interface Props {
  env: string;
  stream: Stream;
}

/** The machine a local engine runs on: its figures now and graphs of them over time. */
export function HostPage({ env, stream }: Props) {
  useEffect(() => {
    document.title = "Host · GhostPanel";
    return () => {
      document.title = "GhostPanel";
    };
  }, []);
  return (
    <main class="page">
      <a class="back" href="#/top">
        ← Overview
      </a>
      <header class="detail-head">
        <h1>Host</h1>
      </header>
      <HostPanel stream={stream} env={env} />
      <HostStats stream={stream} env={env} />
    </main>
  );
}

export { ready } from "./stats-panel.tsx";
