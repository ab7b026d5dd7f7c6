import { useEffect } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { HostPanel } from "./host-panel.tsx";
import { HostStats } from "./stats-panel.tsx";

/** The machine a local engine runs on: its figures now and graphs of them over time. */
export function HostPage() {
  const env = useEnv().id;
  useEffect(() => {
    document.title = "Host · GhostPanel";
    return () => {
      document.title = "GhostPanel";
    };
  }, []);
  return (
    <main class="page">
      <a class="back" href={envHref({ page: "top", env })}>
        ← Overview
      </a>
      <header class="detail-head">
        <h1>Host</h1>
      </header>
      <HostPanel />
      <HostStats />
    </main>
  );
}

export { ready } from "./stats-panel.tsx";
