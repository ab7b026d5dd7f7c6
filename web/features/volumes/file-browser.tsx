import { useEffect, useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { errorMessage } from "../../lib/api.ts";
import { formatBytes } from "../../lib/units.ts";
import { TableHead } from "../../ui/table-head.tsx";
import { download, fileUrl, type Listing, listFiles } from "./api.ts";

const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);

/** A read-only walk through a volume's directories; files download, nothing is ever written. */
export function FileBrowser({ volume }: { volume: string }) {
  const env = useEnv().id;
  const [path, setPath] = useState("/");
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setListing(null);
    setError(null);
    listFiles(env, volume, path).then(
      (l) => live && setListing(l),
      (err) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [env, volume, path]);

  const parts = path.split("/").filter(Boolean);
  return (
    <div class="files" data-testid="file-browser">
      <nav aria-label="Folder" class="crumbs" data-testid="crumbs">
        <button type="button" class="quiet" onClick={() => setPath("/")}>
          {volume}
        </button>
        {parts.map((p, i) => (
          <span key={`${i}-${p}`}>
            {" / "}
            <button
              type="button"
              class="quiet"
              onClick={() => setPath(`/${parts.slice(0, i + 1).join("/")}`)}
            >
              {p}
            </button>
          </span>
        ))}
      </nav>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {!listing && !error && <p class="muted">Reading…</p>}
      {listing?.capped && (
        <p class="muted" data-testid="capped">
          Not everything is listed: this folder holds too much to read at once. Back the volume up to get it
          all.
        </p>
      )}
      {listing && listing.entries.length === 0 && <p class="empty muted">This folder is empty.</p>}
      {listing && listing.entries.length > 0 && (
        <table class="list">
          <TableHead columns={["Name", "Size", "Mode", "Modified"]} actions />
          <tbody>
            {listing.entries.map((e) => (
              <tr key={e.name} data-testid="file-row" data-name={e.name} data-type={e.type}>
                <td class="c-name">
                  {e.type === "dir" ? (
                    <button type="button" class="quiet" onClick={() => setPath(join(path, e.name))}>
                      {e.name}/
                    </button>
                  ) : (
                    <span>
                      {e.name}
                      {e.link !== undefined && <span class="muted"> → {e.link}</span>}
                    </span>
                  )}
                </td>
                <td>{e.type === "file" ? formatBytes(e.size) : e.type === "dir" ? "" : e.type}</td>
                <td class="mono">{e.mode.toString(8).padStart(4, "0")}</td>
                <td>{new Date(e.mtime * 1000).toLocaleString()}</td>
                <td class="c-actions">
                  {e.type === "file" && (
                    <button
                      type="button"
                      data-testid="download"
                      onClick={() => download(fileUrl(env, volume, join(path, e.name)))}
                    >
                      Download
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
