import { useContext, useEffect, useMemo, useState } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { VolumeItem, VolumeSizes } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { errorMessage } from "../../lib/api.ts";
import { useNow } from "../../lib/clock.ts";
import { useLiveCollection } from "../../lib/live.ts";
import { ReportError } from "../../lib/report.ts";
import { formatBytes } from "../../lib/units.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { getSizes } from "./api.ts";
import { CreateVolume } from "./create-volume.tsx";
import { PruneVolumes } from "./prune-volumes.tsx";
import { ago, usersText } from "./text.ts";

const byName = (a: VolumeItem, b: VolumeItem) => a.name.localeCompare(b.name);

/** The current environment's volumes, kept live; the list and a volume's page share them. */
export function useLiveVolumes() {
  return useLiveCollection<VolumeItem>(topic.volumes(useEnv().id));
}

/** Sizes come from the engine's disk-usage walk, which is slow: asked once per visit, then on demand. */
export function useSizes(env: string) {
  const report = useContext(ReportError);
  const [sizes, setSizes] = useState<VolumeSizes | null>(null);
  const [busy, setBusy] = useState(false);
  const load = (refresh: boolean) => {
    setBusy(true);
    getSizes(env, refresh)
      .then(setSizes, (err) => report(`Sizes: ${errorMessage(err)}`))
      .finally(() => setBusy(false));
  };
  useEffect(() => load(false), [env]);
  return { sizes, busy, refresh: () => load(true) };
}

export function VolumesPage() {
  const env = useEnv().id;
  const role = useUser().role;
  const live = useLiveVolumes();
  const [query, setQuery] = useState("");
  const { sizes, busy, refresh } = useSizes(env);
  const now = useNow(30_000);
  const all = live.list;
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (all ?? [])
      .filter((v) => !q || v.name.toLowerCase().includes(q) || v.driver.includes(q))
      .sort(byName);
  }, [all, query]);

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Volumes</h1>
        <input
          type="search"
          data-testid="volume-search"
          placeholder="Search name, driver"
          aria-label="Search volumes"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        {all && (
          <span class="count muted" data-testid="volume-count">
            {shown.length === all.length ? `${all.length}` : `${shown.length} of ${all.length}`}{" "}
            {all.length === 1 ? "volume" : "volumes"}
          </span>
        )}
        <span class="muted" data-testid="sizes-age">
          {sizes ? `Sizes as of ${ago(sizes.at, now)}` : busy ? "Reading sizes…" : ""}
        </span>
        <button type="button" disabled={busy} aria-busy={busy} onClick={refresh} data-testid="sizes-refresh">
          Refresh sizes
        </button>
        {role !== "viewer" && <CreateVolume />}
        {role === "admin" && <PruneVolumes />}
      </div>
      {live.error && (
        <p class="alert" role="alert">
          {live.error}
        </p>
      )}
      {!all && !live.error && <p class="muted">Loading…</p>}
      {all && shown.length === 0 && (
        <p class="empty muted">{all.length === 0 ? "No volumes yet." : "No volume matches."}</p>
      )}
      {shown.length > 0 && (
        <table class="list">
          <TableHead columns={["Name", "Driver", "Size", "Used by", "Created"]} />
          <tbody>
            {shown.map((v) => (
              <tr key={v.id} data-testid="volume-row" data-name={v.name}>
                <td class="c-name">
                  <a href={envHref({ page: "volume", env, name: v.name })}>{v.name}</a>
                </td>
                <td>{v.driver}</td>
                <td>{sizeOf(sizes, v.name)}</td>
                <td data-testid="used-by">{usersText(v) || <span class="muted">unused</span>}</td>
                <td>{v.created ? new Date(v.created).toLocaleString() : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

export function sizeOf(sizes: VolumeSizes | null, name: string): string {
  const size = sizes?.sizes[name];
  return size === undefined ? "—" : size < 0 ? "unknown" : formatBytes(size);
}
