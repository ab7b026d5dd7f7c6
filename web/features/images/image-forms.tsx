import { useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { useChange } from "../../lib/fetched.ts";
import { formatBytes } from "../../lib/units.ts";
import { TextField } from "../../ui/text-field.tsx";
import { build, imagesPath, pull, uploadFile } from "./image-api.ts";

const tagsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);

/** Pull: the job's layers show below the forms as they come (from jobs:<env>). */
export function PullForm() {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [reference, setReference] = useState("");
  return (
    <form
      class="card"
      data-testid="pull-form"
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => pull(env, reference.trim())).then((ok) => ok && setReference(""));
      }}
    >
      <h2>Pull</h2>
      <TextField
        label="Image"
        name="reference"
        required
        placeholder="registry.example:5000/app:1.2"
        value={reference}
        onValue={setReference}
      />
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        Pull
      </button>
    </form>
  );
}

/** Build from a pasted Dockerfile, or from a context tar when one is chosen; the output streams as the job's lines. */
export function BuildForm() {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [dockerfile, setDockerfile] = useState("");
  const [tags, setTags] = useState("");
  const [context, setContext] = useState<File | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const start = () => {
    if (context) {
      const q = new URLSearchParams();
      for (const t of tagsOf(tags)) q.append("tag", t);
      return uploadFile(`${imagesPath(env)}/build/upload?${q}`, context, (n, total) =>
        setSent(`${formatBytes(n)} of ${formatBytes(total)} sent`),
      );
    }
    return build(env, { dockerfile, tags: tagsOf(tags) });
  };
  return (
    <form
      class="card"
      data-testid="build-form"
      onSubmit={(e) => {
        e.preventDefault();
        void run(start).then(() => setSent(null));
      }}
    >
      <h2>Build</h2>
      <label class="field">
        Dockerfile
        <textarea
          name="dockerfile"
          data-testid="dockerfile"
          required={!context}
          disabled={context !== null}
          placeholder={"FROM busybox\nRUN echo hello > /hello"}
          value={dockerfile}
          onInput={(e) => setDockerfile(e.currentTarget.value)}
        />
      </label>
      <label class="field">
        or a context (.tar with a Dockerfile)
        <input
          type="file"
          name="context"
          accept=".tar,application/x-tar"
          onChange={(e) => setContext(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <TextField label="Tags" name="tags" placeholder="app:1, app:latest" value={tags} onValue={setTags} />
      {sent && <p class="muted">{sent}</p>}
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        Build
      </button>
    </form>
  );
}

/** Import a file system tar as an image, or load `docker save` images, with the upload's progress. */
export function UploadForm() {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState<"load" | "import">("load");
  const [reference, setReference] = useState("");
  const [sent, setSent] = useState<{ n: number; total: number } | null>(null);
  const path = () =>
    kind === "load"
      ? `${imagesPath(env)}/load`
      : `${imagesPath(env)}/import${reference.trim() ? `?reference=${encodeURIComponent(reference.trim())}` : ""}`;
  return (
    <form
      class="card"
      data-testid="upload-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!file) return;
        void run(() => uploadFile(path(), file, (n, total) => setSent({ n, total }))).then(() =>
          setSent(null),
        );
      }}
    >
      <h2>Upload</h2>
      <label class="field">
        What it is
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as "load" | "import")}>
          <option value="load">Images saved with docker save</option>
          <option value="import">A file system (docker import)</option>
        </select>
      </label>
      <input
        type="file"
        required
        accept=".tar,application/x-tar"
        aria-label="Tar file"
        onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
      />
      {kind === "import" && (
        <TextField
          label="Name it"
          name="reference"
          placeholder="app:imported"
          value={reference}
          onValue={setReference}
        />
      )}
      {sent && (
        <progress max={sent.total || 1} value={sent.n} aria-label="Upload">
          {formatBytes(sent.n)}
        </progress>
      )}
      <button type="submit" class="primary" disabled={busy || !file} aria-busy={busy}>
        Upload
      </button>
    </form>
  );
}
