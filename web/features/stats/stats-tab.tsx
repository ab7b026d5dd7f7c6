import { lazy } from "../../lib/lazy.ts";

// The graphs and uPlot load with the first Stats tab opened (a container's or an app's), not with the page.
const useStatsPanel = lazy(() =>
  import("./stats-panel.tsx").then(async (m) => {
    await m.ready;
    return m;
  }),
);

/** One container's live figures and graphs, as a page's tab. */
export function StatsTab({ id }: { id: string }) {
  const loaded = useStatsPanel();
  if (!loaded) return <p class="muted stats-loading">Loading…</p>;
  if ("error" in loaded)
    return (
      <p class="alert" role="alert">
        {loaded.error}
      </p>
    );
  return <loaded.module.ContainerStats key={id} id={id} />;
}
