import { useState } from "preact/hooks";
import type { EnvironmentView } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";
import { useChange } from "../../lib/fetched.ts";
import { TextField } from "../../ui/text-field.tsx";

const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]*";

/** Tags as typed: separated by commas or spaces, each once. */
function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

interface Pems {
  ca: string;
  cert: string;
  key: string;
}
const NO_PEMS: Pems = { ca: "", cert: "", key: "" };

/** The client certificate an engine over TCP wants, pasted as PEM; sent once, never shown again. */
function TlsFields({ pems, onPems }: { pems: Pems; onPems: (p: Pems) => void }) {
  const area = (field: keyof Pems, label: string) => (
    <label class="field">
      {label}
      <textarea
        name={`tls_${field}`}
        rows={3}
        spellcheck={false}
        value={pems[field]}
        onInput={(e) => onPems({ ...pems, [field]: e.currentTarget.value })}
      />
    </label>
  );
  return (
    <>
      {area("ca", "CA certificate (PEM, optional)")}
      {area("cert", "Client certificate (PEM)")}
      {area("key", "Client key (PEM)")}
    </>
  );
}

const tlsOf = (p: Pems) =>
  p.cert.trim() || p.key.trim()
    ? { ...(p.ca.trim() ? { ca: p.ca } : {}), cert: p.cert, key: p.key }
    : undefined;

/** Adds an engine by URL, with a TLS client certificate when it needs one. */
export function AddEnvironment() {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [tags, setTags] = useState("");
  const [pems, setPems] = useState(NO_PEMS);
  const { busy, run } = useChange();
  return (
    <form
      class="box env-add"
      data-testid="env-add"
      onSubmit={async (e) => {
        e.preventDefault();
        const tls = tlsOf(pems);
        const body = { name: name.trim(), url: url.trim(), tags: parseTags(tags), ...(tls ? { tls } : {}) };
        if (!(await run(() => api("POST", "/envs", body)))) return;
        setName("");
        setUrl("");
        setTags("");
        setPems(NO_PEMS);
      }}
    >
      <h2>Add an environment</h2>
      <div class="form-row">
        <NameField value={name} onValue={setName} />
        <TextField
          label="Engine URL"
          name="env_url"
          required
          placeholder="unix:///var/run/docker.sock or tcp://host:2376"
          value={url}
          onValue={setUrl}
        />
        <TagsField value={tags} onValue={setTags} />
      </div>
      <details>
        <summary>TLS client certificate</summary>
        <TlsFields pems={pems} onPems={setPems} />
      </details>
      <button type="submit" class="primary" disabled={busy}>
        Add environment
      </button>
    </form>
  );
}

/** Renames, tags, and (for an added engine) points an environment at another address or certificate. */
export function EditEnvironment({ env, onDone }: { env: EnvironmentView; onDone: () => void }) {
  const [name, setName] = useState(env.name);
  const [tags, setTags] = useState((env.tags ?? []).join(", "));
  const [url, setUrl] = useState(env.url);
  const [pems, setPems] = useState(NO_PEMS);
  const [dropTls, setDropTls] = useState(false);
  const { busy, run } = useChange();
  const local = env.id === "local";
  return (
    <form
      class="env-edit"
      data-testid="env-edit"
      onSubmit={async (e) => {
        e.preventDefault();
        const tls = tlsOf(pems);
        const body: Record<string, unknown> = {};
        if (name.trim() !== env.name) body.name = name.trim();
        const newTags = parseTags(tags);
        if (newTags.join(",") !== (env.tags ?? []).join(",")) body.tags = newTags;
        if (!local && url.trim() !== env.url) body.url = url.trim();
        if (tls) body.tls = tls;
        else if (dropTls) body.tls = null;
        if (Object.keys(body).length === 0) return onDone();
        if (await run(() => api("PATCH", `/envs/${encodeURIComponent(env.id)}`, body))) onDone();
      }}
    >
      <h2>{env.name}</h2>
      <div class="form-row">
        <NameField value={name} onValue={setName} />
        <TagsField value={tags} onValue={setTags} />
        {!local && <TextField label="Engine URL" name="env_url" required value={url} onValue={setUrl} />}
      </div>
      {!local && (
        <details>
          <summary>{env.tls ? "Replace the TLS client certificate" : "TLS client certificate"}</summary>
          <TlsFields pems={pems} onPems={setPems} />
          {env.tls && (
            <label class="check">
              <input
                type="checkbox"
                name="tls_drop"
                checked={dropTls}
                onChange={(e) => setDropTls(e.currentTarget.checked)}
              />
              Connect without a client certificate
            </label>
          )}
        </details>
      )}
      <div class="dialog-buttons">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" class="primary" data-action="save" disabled={busy}>
          Save
        </button>
      </div>
    </form>
  );
}

type Bound = { value: string; onValue: (value: string) => void };

/** The environment's name, with the rule the API checks (`POST`/`PATCH /api/v1/envs`). */
export function NameField(bound: Bound) {
  return (
    <TextField
      label="Name"
      name="env_name"
      required
      maxLength={64}
      pattern={NAME_PATTERN}
      title="letters, digits, _ . - (starting with a letter or digit)"
      {...bound}
    />
  );
}

function TagsField(bound: Bound) {
  return <TextField label="Tags" name="env_tags" placeholder="prod, eu-west" {...bound} />;
}
