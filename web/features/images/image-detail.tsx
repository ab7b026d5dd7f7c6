import { useState } from "preact/hooks";
import { useEnv, useUser } from "../../app/contexts.ts";
import { envHref, navigate } from "../../app/route.ts";
import { useChange, useFetched } from "../../lib/fetched.ts";
import { formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TableHead } from "../../ui/table-head.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { exportHref, type HistoryLayer, imagesPath, push, remove, shortId, tag } from "./image-api.ts";
import { useImages } from "./use-images.ts";

/** One image: what it is, who uses it, its layers, the engine's inspect, and what may be done with it. */
export function ImageDetail({ id }: { id: string }) {
  const env = useEnv().id;
  const role = useUser().role;
  const { images, users } = useImages();
  const image = images.list?.find((i) => i.id === id);
  const list = envHref({ page: "images", env });
  if (!image)
    return (
      <main class="page">
        <a class="back" href={list}>
          ← Images
        </a>
        <p class="muted">{images.list ? `No image ${shortId(id)}: it may have been removed.` : "Loading…"}</p>
      </main>
    );
  const used = users.get(image.id) ?? [];
  return (
    <main class="page detail">
      <a class="back" href={list}>
        ← Images
      </a>
      <header class="detail-head">
        <h1>{image.tags[0] ?? shortId(image.id)}</h1>
        {image.dangling && <span class="badge">dangling</span>}
      </header>
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{image.id}</dd>
        <dt>Tags</dt>
        <dd data-testid="image-tags">{image.tags.join(", ") || "—"}</dd>
        <dt>Digests</dt>
        <dd class="mono">{image.digests.join(", ") || "—"}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(image.size)}</dd>
        <dt>Created</dt>
        <dd>{new Date(image.created * 1000).toLocaleString()}</dd>
        <dt>Used by</dt>
        <dd>{used.map((c) => c.name).join(", ") || "—"}</dd>
      </dl>
      {role !== "viewer" && (
        <ImageActions
          id={image.id}
          tags={image.tags}
          users={used.map((c) => c.name)}
          admin={role === "admin"}
        />
      )}
      {role !== "viewer" && (
        <p>
          <a href={exportHref(env, image.tags[0] ?? image.id)} download data-testid="export">
            Export as .tar
          </a>
        </p>
      )}
      <History env={env} id={image.id} />
      <Inspect env={env} id={image.id} />
    </main>
  );
}

function ImageActions({
  id,
  tags,
  users,
  admin,
}: {
  id: string;
  tags: string[];
  users: string[];
  admin: boolean;
}) {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [asking, setAsking] = useState<"remove" | "tag" | null>(null);
  const [force, setForce] = useState(false);
  const [newTag, setNewTag] = useState("");
  if (!admin) return null;
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={() => setAsking("tag")}>
        Tag…
      </button>
      {tags.map((t) => (
        <button type="button" key={t} disabled={busy} onClick={() => void run(() => push(env, t))}>
          Push {t}
        </button>
      ))}
      <button
        type="button"
        class="danger-text"
        data-testid="remove-image"
        disabled={busy}
        onClick={() => {
          setForce(false);
          setAsking("remove");
        }}
      >
        Remove…
      </button>
      {asking === "tag" && (
        <ConfirmDialog
          title="Tag this image"
          confirmLabel="Tag"
          onConfirm={() => {
            setAsking(null);
            void run(() => tag(env, id, newTag.trim()));
          }}
          onCancel={() => setAsking(null)}
        >
          <TextField
            label="New tag"
            name="tag"
            required
            placeholder="app:1.2"
            value={newTag}
            onValue={setNewTag}
          />
        </ConfirmDialog>
      )}
      {asking === "remove" && (
        <ConfirmDialog
          title={`Remove ${tags.join(", ") || shortId(id)}?`}
          confirmLabel="Remove"
          danger
          onConfirm={() => {
            setAsking(null);
            void run(() => remove(env, id, force)).then(
              (ok) => ok && navigate(envHref({ page: "images", env })),
            );
          }}
          onCancel={() => setAsking(null)}
        >
          <p>
            The image {shortId(id)} goes{tags.length ? `, with its tags ${tags.join(", ")}` : ""}.
          </p>
          {users.length > 0 && (
            <>
              <p class="alert">
                Used by {users.join(", ")}: removing it needs force, and no running container.
              </p>
              <label>
                <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} />{" "}
                force
              </label>
            </>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}

function History({ env, id }: { env: string; id: string }) {
  const layers = useFetched<HistoryLayer[]>(`${imagesPath(env)}/${id}/history`);
  if (layers.error)
    return (
      <p class="alert" role="alert">
        {layers.error}
      </p>
    );
  if (!layers.data) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h2>Layers</h2>
      <table class="list" data-testid="history">
        <TableHead columns={["Created by", "Size", "Created"]} />
        <tbody>
          {layers.data.map((l, n) => (
            <tr key={`${l.id}-${n}`}>
              <td class="mono">{l.created_by.replace(/^\/bin\/sh -c (#\(nop\)\s+)?/, "")}</td>
              <td>{formatBytes(l.size)}</td>
              <td>{new Date(l.created * 1000).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Inspect({ env, id }: { env: string; id: string }) {
  const inspect = useFetched<unknown>(`${imagesPath(env)}/${id}`);
  return (
    <section>
      <h2>Inspect</h2>
      {inspect.error ? (
        <p class="alert" role="alert">
          {inspect.error}
        </p>
      ) : (
        <pre class="inspect" data-testid="image-inspect">
          {inspect.data ? JSON.stringify(inspect.data, null, 2) : "Loading…"}
        </pre>
      )}
    </section>
  );
}
