import { useMemo, useState } from "preact/hooks";
import type { ImageItem } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref } from "../../app/route.ts";
import { formatBytes } from "../../lib/units.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { JobView } from "../jobs/job-view.tsx";
import { useJobs } from "../jobs/use-jobs.ts";
import { shortId } from "./image-api.ts";
import { BuildForm, PullForm, UploadForm } from "./image-forms.tsx";
import { PruneButton } from "./prune-dialog.tsx";
import { useImages } from "./use-images.ts";

const IMAGE_JOBS = new Set(["pull", "push", "build", "import", "load"]);
const JOBS_SHOWN = 5;

const matches = (i: ImageItem, q: string) =>
  !q || i.tags.some((t) => t.includes(q)) || shortId(i.id).startsWith(q);
const byName = (a: ImageItem, b: ImageItem) =>
  (a.tags[0] ?? "\uffff").localeCompare(b.tags[0] ?? "\uffff") || b.created - a.created;

export function ImagesList() {
  const env = useEnv().id;
  const role = useUser().role;
  const { images, users } = useImages();
  const jobs = useJobs();
  const [query, setQuery] = useState("");
  const all = images.list;
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (all ?? []).filter((i) => matches(i, q)).sort(byName);
  }, [all, query]);
  const recent = (jobs ?? [])
    .filter((j) => IMAGE_JOBS.has(j.kind))
    .sort((a, b) => b.startedAt - a.startedAt)
    .slice(0, JOBS_SHOWN);

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Images</h1>
        <input
          type="search"
          data-testid="image-search"
          placeholder="Search tag or id"
          aria-label="Search images"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        {all && (
          <span class="count muted" data-testid="image-count">
            {shown.length === all.length ? `${all.length}` : `${shown.length} of ${all.length}`}{" "}
            {all.length === 1 ? "image" : "images"}
          </span>
        )}
        {role === "admin" && <PruneButton />}
      </div>
      {(role === "admin" || role === "operator") && (
        <div class="image-forms">
          <PullForm />
          {role === "admin" && <BuildForm />}
          {role === "admin" && <UploadForm />}
        </div>
      )}
      {recent.map((j) => (
        <JobView key={j.id} job={j} canCancel={role !== "viewer"} />
      ))}
      {images.error && (
        <p class="alert" role="alert">
          {images.error}
        </p>
      )}
      {!all && !images.error && <p class="muted">Loading…</p>}
      {all && shown.length === 0 && (
        <p class="empty muted">{all.length === 0 ? "No images yet." : "No image matches."}</p>
      )}
      {shown.length > 0 && (
        <table class="list" data-testid="images">
          <TableHead columns={["Tags", "Id", "Size", "Created", "Used by"]} />
          <tbody>
            {shown.map((i) => {
              const used = users.get(i.id) ?? [];
              return (
                <tr key={i.id} data-testid="image-row" data-id={i.id}>
                  <td>
                    <a href={envHref({ page: "image", env, id: i.id })}>
                      {i.tags.length ? i.tags.join(", ") : <span class="badge">dangling</span>}
                    </a>
                  </td>
                  <td class="mono">{shortId(i.id)}</td>
                  <td>{formatBytes(i.size)}</td>
                  <td>{new Date(i.created * 1000).toLocaleString()}</td>
                  <td>{used.length ? used.map((c) => c.name).join(", ") : <span class="muted">—</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
