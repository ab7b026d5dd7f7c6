import { useEffect, useId, useMemo, useState } from "preact/hooks";
import type { JobItem } from "../../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../../app/contexts.ts";
import { containerHref, navigate } from "../../../app/route.ts";
import { ApiError, api, errorMessage } from "../../../lib/api.ts";
import { TextField } from "../../../ui/text-field.tsx";
import { pull } from "../../images/image-api.ts";
import { JobView } from "../../jobs/job-view.tsx";
import { useJobs } from "../../jobs/use-jobs.ts";
import { containerPath } from "../actions.ts";
import { type FieldChange, inPlaceUpdate, specDiff } from "./diff.ts";
import { parseDockerRun, toDockerRun } from "./docker-run.ts";
import {
  type CreateSpec,
  emptySpec,
  fromInspect,
  type InspectLike,
  type MountSpec,
  type PortSpec,
  type RestartName,
  SpecError,
  toCreateBody,
} from "./spec.ts";
import "./create.css";

interface Props {
  /** a container to start from (Duplicate): its settings fill the form */
  from?: string | undefined;
  /** edit `from` itself: a diff first, then changed in place or made again */
  edit?: boolean | undefined;
}

const JOB_POLL_MS = 300;

/** Follows a job to its end (by asking: the answer must not depend on a frame arriving). */
async function jobResult(env: string, job: string): Promise<string> {
  for (;;) {
    const j = await api<JobItem>("GET", `/envs/${encodeURIComponent(env)}/jobs/${job}`);
    if (j.state === "done") return j.result ?? "";
    if (j.state !== "running") throw new Error(j.error ?? `the job ${j.state}`);
    await new Promise((r) => setTimeout(r, JOB_POLL_MS));
  }
}

/** One string per line, blank lines dropped: environment, labels, lists typed one per line. */
const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
/** Several values in one field: commas or spaces. */
const words = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const pairs = (text: string): [string, string][] =>
  lines(text).map((l) => {
    const i = l.indexOf("=");
    return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 1)];
  });
/** A pasted .env: `export`, quotes around values and comments as dotenv files write them. */
const dotenv = (text: string) =>
  lines(text).map((l) => l.replace(/^export\s+/, "").replace(/^([^=]+)=(["'])(.*)\2$/, "$1=$3"));

export function CreatePage({ from, edit }: Props) {
  const { id: env } = useEnv();
  const role = useUser().role;
  const [spec, setSpec] = useState<CreateSpec>(emptySpec);
  const [start, setStart] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [runLine, setRunLine] = useState("");
  const [runNote, setRunNote] = useState<string | null>(null);
  // Edit: the container as it is, and the changes under review before they are applied.
  const [original, setOriginal] = useState<CreateSpec | null>(null);
  const [review, setReview] = useState<FieldChange[] | null>(null);
  // An image the engine lacks: offered for pulling, then the create goes on by itself.
  const [missing, setMissing] = useState<string | null>(null);
  const [pullJob, setPullJob] = useState<string | null>(null);
  const jobs = useJobs();
  const pulling = pullJob ? jobs?.find((j) => j.id === pullJob) : undefined;

  useEffect(() => {
    document.title = `${edit ? "Edit container" : "New container"} · GhostPanel`;
    if (!from) return;
    let live = true;
    api<InspectLike>("GET", containerPath(env, from))
      .then((inspect) => {
        if (!live) return;
        const copy = fromInspect(inspect);
        if (edit) {
          setOriginal(copy);
          setSpec(copy);
        } else setSpec({ ...copy, name: copy.name ? `${copy.name}-copy` : "" });
      })
      .catch((err) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [env, from, edit]);

  // A change to the form after a review makes the review stale.
  useEffect(() => setReview(null), [spec]);
  const set = <K extends keyof CreateSpec>(key: K, value: CreateSpec[K]) =>
    setSpec((s) => ({ ...s, [key]: value }));
  const equivalent = useMemo(() => (spec.image.trim() ? toDockerRun(spec) : ""), [spec]);

  const fill = () => {
    try {
      const parsed = parseDockerRun(runLine);
      setSpec(parsed.spec);
      setRunNote(
        parsed.ignored.length
          ? `Filled in. Not carried by the form, so left out: ${parsed.ignored.join(", ")}`
          : "Filled in from the command.",
      );
    } catch (err) {
      setRunNote(err instanceof SpecError ? err.message : String(err));
    }
  };

  const bodyOrError = (): Record<string, unknown> | null => {
    try {
      return toCreateBody(spec);
    } catch (err) {
      setError(err instanceof SpecError ? err.message : String(err));
      return null;
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body = bodyOrError();
    if (!body) return;
    if (edit && original) {
      setReview(specDiff(original, spec));
      return;
    }
    await create(body);
  };

  /** Edit: limits alone change in place (same container); anything else makes it again. */
  const apply = async () => {
    const body = bodyOrError();
    if (!body || !from || !review) return;
    setBusy(true);
    setError(null);
    try {
      const update = inPlaceUpdate(spec, review);
      if (update) {
        await api("POST", `${containerPath(env, from)}/update`, update);
        navigate(containerHref(env, from));
      } else {
        const { job } = await api<{ job: string }>("POST", `${containerPath(env, from)}/edit`, body);
        navigate(containerHref(env, await jobResult(env, job)));
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const startPull = async () => {
    if (!missing) return;
    setError(null);
    try {
      setPullJob((await pull(env, missing)).job.id);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  // The pull ended: on success the create goes on, as it was asked for.
  useEffect(() => {
    if (!pulling || pulling.state === "running") return;
    setPullJob(null);
    if (pulling.state !== "done") return setError(`The pull ${pulling.state}: ${pulling.error ?? ""}`);
    setMissing(null);
    const body = bodyOrError();
    if (body) void create(body);
  }, [pulling?.state]);

  const create = async (body: Record<string, unknown>) => {
    setBusy(true);
    try {
      const made = await api<{ id: string; warnings: string[] }>(
        "POST",
        `/envs/${encodeURIComponent(env)}/containers`,
        body,
      );
      if (start) await api("POST", `${containerPath(env, made.id)}/start`);
      navigate(containerHref(env, made.id));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && /no such image/i.test(err.message)) {
        setMissing(spec.image.trim());
        setError(`The engine has no image "${spec.image}".`);
      } else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="page create-page">
      <h1>{edit ? "Edit container" : from ? "Duplicate container" : "New container"}</h1>
      <details class="paste-run">
        <summary>Fill from a docker run command</summary>
        <textarea
          aria-label="docker run command"
          data-testid="docker-run-input"
          rows={3}
          placeholder="docker run -d --name web -p 8080:80 nginx"
          value={runLine}
          onInput={(e) => setRunLine(e.currentTarget.value)}
        />
        <button type="button" data-testid="docker-run-fill" onClick={fill}>
          Fill the form
        </button>
        {runNote && (
          <p class="muted" role="status">
            {runNote}
          </p>
        )}
      </details>
      <form onSubmit={submit} class="create-form" data-testid="create-form">
        <fieldset>
          <legend>Container</legend>
          <TextField
            label="Image"
            name="image"
            value={spec.image}
            onValue={(v) => set("image", v)}
            required
            placeholder="nginx:1.27"
          />
          <TextField
            label="Name"
            name="name"
            value={spec.name}
            onValue={(v) => set("name", v)}
            placeholder="optional"
          />
          <ParsedField
            label="Command"
            name="cmd"
            value={spec.cmd}
            onValue={(v) => set("cmd", v)}
            parse={fromWords}
            format={toWords}
            placeholder="the image's default"
          />
          <ParsedField
            label="Entrypoint"
            name="entrypoint"
            value={spec.entrypoint}
            onValue={(v) => set("entrypoint", v)}
            parse={fromWords}
            format={toWords}
            placeholder="the image's default"
          />
          <TextField
            label="User"
            name="user"
            value={spec.user}
            onValue={(v) => set("user", v)}
            placeholder="1000:1000"
          />
          <TextField
            label="Working directory"
            name="workdir"
            value={spec.workdir}
            onValue={(v) => set("workdir", v)}
          />
          <TextField
            label="Hostname"
            name="hostname"
            value={spec.hostname}
            onValue={(v) => set("hostname", v)}
          />
          <label class="check">
            <input type="checkbox" checked={spec.tty} onChange={(e) => set("tty", e.currentTarget.checked)} />{" "}
            Terminal (-t)
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={spec.interactive}
              onChange={(e) => set("interactive", e.currentTarget.checked)}
            />{" "}
            Keep stdin open (-i)
          </label>
        </fieldset>

        <fieldset>
          <legend>Environment</legend>
          <ParsedField
            label="Variables, one KEY=value per line (paste a .env file)"
            name="env"
            rows={4}
            value={spec.env}
            onValue={(v) => set("env", v)}
            parse={dotenv}
            format={(v) => v.join("\n")}
          />
        </fieldset>

        <fieldset>
          <legend>Ports</legend>
          <Rows<PortSpec>
            rows={spec.ports}
            onRows={(r) => set("ports", r)}
            empty={{ hostIp: "", hostPort: "", containerPort: "", protocol: "tcp" }}
            addLabel="Add a port"
            render={(p, put) => (
              <>
                <input
                  aria-label="Host address"
                  placeholder="host address (all)"
                  value={p.hostIp}
                  onInput={(e) => put({ ...p, hostIp: e.currentTarget.value })}
                />
                <input
                  aria-label="Host port"
                  placeholder="host port"
                  inputMode="numeric"
                  value={p.hostPort}
                  onInput={(e) => put({ ...p, hostPort: e.currentTarget.value })}
                />
                <input
                  aria-label="Container port"
                  placeholder="container port"
                  inputMode="numeric"
                  required
                  value={p.containerPort}
                  onInput={(e) => put({ ...p, containerPort: e.currentTarget.value })}
                />
                <select
                  aria-label="Protocol"
                  value={p.protocol}
                  onChange={(e) => put({ ...p, protocol: e.currentTarget.value as PortSpec["protocol"] })}
                >
                  <option value="tcp">tcp</option>
                  <option value="udp">udp</option>
                  <option value="sctp">sctp</option>
                </select>
              </>
            )}
          />
        </fieldset>

        <fieldset>
          <legend>Volumes and binds</legend>
          <Rows<MountSpec>
            rows={spec.mounts}
            onRows={(r) => set("mounts", r)}
            empty={{ kind: "volume", source: "", target: "", readOnly: false }}
            addLabel="Add a volume"
            render={(m, put) => (
              <>
                <select
                  aria-label="Kind"
                  value={m.kind}
                  onChange={(e) => put({ ...m, kind: e.currentTarget.value as MountSpec["kind"] })}
                >
                  <option value="volume">volume</option>
                  <option value="bind">host path</option>
                  <option value="tmpfs">tmpfs</option>
                </select>
                <input
                  aria-label="Source"
                  placeholder={
                    m.kind === "bind"
                      ? "/host/path"
                      : m.kind === "tmpfs"
                        ? "—"
                        : "volume name (new if missing)"
                  }
                  disabled={m.kind === "tmpfs"}
                  value={m.source}
                  onInput={(e) => put({ ...m, source: e.currentTarget.value })}
                />
                <input
                  aria-label="Path in the container"
                  placeholder="/path/in/container"
                  required
                  value={m.target}
                  onInput={(e) => put({ ...m, target: e.currentTarget.value })}
                />
                <label class="check">
                  <input
                    type="checkbox"
                    checked={m.readOnly}
                    onChange={(e) => put({ ...m, readOnly: e.currentTarget.checked })}
                  />{" "}
                  read-only
                </label>
              </>
            )}
          />
        </fieldset>

        <fieldset>
          <legend>Network</legend>
          <TextField
            label="Network"
            name="network"
            value={spec.network}
            onValue={(v) => set("network", v)}
            placeholder="bridge (default)"
          />
          <ParsedField
            label="Aliases"
            name="aliases"
            value={spec.aliases}
            onValue={(v) => set("aliases", v)}
            parse={words}
            format={commas}
          />
          <TextField
            label="IPv4 address"
            name="ipv4"
            value={spec.ipv4}
            onValue={(v) => set("ipv4", v)}
            placeholder="assigned"
          />
          <ParsedField
            label="DNS servers"
            name="dns"
            value={spec.dns}
            onValue={(v) => set("dns", v)}
            parse={words}
            format={commas}
          />
        </fieldset>

        <fieldset>
          <legend>Restart and limits</legend>
          <label class="field">
            Restart policy
            <select
              name="restart"
              value={spec.restart}
              onChange={(e) => set("restart", e.currentTarget.value as RestartName)}
            >
              <option value="no">never</option>
              <option value="always">always</option>
              <option value="unless-stopped">unless stopped</option>
              <option value="on-failure">on failure</option>
            </select>
          </label>
          {spec.restart === "on-failure" && (
            <TextField
              label="Retries"
              name="restartRetries"
              value={spec.restartRetries}
              onValue={(v) => set("restartRetries", v)}
            />
          )}
          <TextField
            label="CPUs"
            name="cpus"
            value={spec.cpus}
            onValue={(v) => set("cpus", v)}
            placeholder="e.g. 0.5"
          />
          <TextField
            label="Memory"
            name="memory"
            value={spec.memory}
            onValue={(v) => set("memory", v)}
            placeholder="e.g. 256m"
          />
          <TextField
            label="Process limit"
            name="pids"
            value={spec.pids}
            onValue={(v) => set("pids", v)}
            placeholder="e.g. 200"
          />
        </fieldset>

        <fieldset>
          <legend>Labels</legend>
          <ParsedField
            label="One key=value per line"
            name="labels"
            rows={3}
            value={spec.labels}
            onValue={(v) => set("labels", v)}
            parse={pairs}
            format={unpairs}
          />
        </fieldset>

        <fieldset>
          <legend>Health check</legend>
          <TextField
            label="Command (run by the container's shell)"
            name="healthCmd"
            value={spec.health?.cmd ?? ""}
            onValue={(v) =>
              set(
                "health",
                v
                  ? {
                      ...(spec.health ?? { interval: "", timeout: "", retries: "", startPeriod: "" }),
                      cmd: v,
                    }
                  : null,
              )
            }
            placeholder="wget -q -O- localhost || exit 1"
          />
          {spec.health && (
            <>
              <TextField
                label="Every"
                name="healthInterval"
                value={spec.health.interval}
                onValue={(v) => set("health", { ...spec.health!, interval: v })}
                placeholder="30s"
              />
              <TextField
                label="Timeout"
                name="healthTimeout"
                value={spec.health.timeout}
                onValue={(v) => set("health", { ...spec.health!, timeout: v })}
                placeholder="30s"
              />
              <TextField
                label="Retries"
                name="healthRetries"
                value={spec.health.retries}
                onValue={(v) => set("health", { ...spec.health!, retries: v })}
                placeholder="3"
              />
              <TextField
                label="Start period"
                name="healthStart"
                value={spec.health.startPeriod}
                onValue={(v) => set("health", { ...spec.health!, startPeriod: v })}
                placeholder="0s"
              />
            </>
          )}
        </fieldset>

        <details>
          <summary>Capabilities, devices, logging</summary>
          <fieldset>
            <ParsedField
              label="Add capabilities"
              name="capAdd"
              value={spec.capAdd}
              onValue={(v) => set("capAdd", v)}
              parse={words}
              format={commas}
              placeholder="NET_ADMIN"
            />
            <ParsedField
              label="Drop capabilities"
              name="capDrop"
              value={spec.capDrop}
              onValue={(v) => set("capDrop", v)}
              parse={words}
              format={commas}
              placeholder="ALL"
            />
            <ParsedField
              label="Devices"
              name="devices"
              value={spec.devices}
              onValue={(v) => set("devices", v)}
              parse={words}
              format={commas}
              placeholder="/dev/fuse"
            />
            <TextField
              label="GPUs"
              name="gpus"
              value={spec.gpus}
              onValue={(v) => set("gpus", v)}
              placeholder="all, or a count"
            />
            <TextField
              label="Log driver"
              name="logDriver"
              value={spec.logDriver}
              onValue={(v) => set("logDriver", v)}
              placeholder="json-file"
            />
            <ParsedField
              label="Log options, one key=value per line"
              name="logOpts"
              rows={2}
              value={spec.logOpts}
              onValue={(v) => set("logOpts", v)}
              parse={pairs}
              format={unpairs}
            />
            <label class="check">
              <input
                type="checkbox"
                checked={spec.readOnly}
                onChange={(e) => set("readOnly", e.currentTarget.checked)}
              />{" "}
              Read-only root filesystem
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={spec.init}
                onChange={(e) => set("init", e.currentTarget.checked)}
              />{" "}
              Run an init process
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={spec.autoRemove}
                onChange={(e) => set("autoRemove", e.currentTarget.checked)}
              />{" "}
              Remove when it exits
            </label>
            {role === "admin" && (
              <label class="check">
                <input
                  type="checkbox"
                  checked={spec.privileged}
                  onChange={(e) => set("privileged", e.currentTarget.checked)}
                />{" "}
                Privileged (root on the host)
              </label>
            )}
          </fieldset>
        </details>

        {equivalent && (
          <label class="field">
            The same as
            <output class="docker-run" data-testid="docker-run-output">
              {equivalent}
            </output>
          </label>
        )}
        {error && (
          <p class="alert" role="alert" data-testid="create-error">
            {error}
          </p>
        )}
        {missing && !pullJob && (
          <button type="button" data-testid="pull-missing" onClick={() => void startPull()}>
            Pull {missing} and create
          </button>
        )}
        {pulling && <JobView job={pulling} />}
        {review && (
          <ChangeReview
            changes={review}
            inPlace={inPlaceUpdate(spec, review) !== null}
            busy={busy}
            onApply={() => void apply()}
            onBack={() => setReview(null)}
          />
        )}
        <div class="form-actions">
          {!edit && (
            <label class="check">
              <input type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} />{" "}
              Start it
            </label>
          )}
          <button type="submit" class="primary" disabled={busy || !!review} aria-busy={busy && !review}>
            {edit ? "Review changes" : busy ? "Creating…" : "Create"}
          </button>
        </div>
      </form>
    </main>
  );
}

/**
 * A field whose text is parsed into a value (a list, pairs): what is typed stays as typed (a
 * trailing space, an empty line being written), and is written anew only when the value changes
 * from outside (a pasted command, a duplicate).
 */
function ParsedField<T>({
  label,
  name,
  value,
  onValue,
  parse,
  format,
  rows,
  placeholder,
}: {
  label: string;
  name: string;
  value: T;
  onValue: (value: T) => void;
  parse: (text: string) => T;
  format: (value: T) => string;
  rows?: number;
  placeholder?: string;
}) {
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    if (JSON.stringify(parse(text)) !== JSON.stringify(value)) setText(format(value));
    // Only a change of the value from outside rewrites the text.
  }, [value]);
  const input = (next: string) => {
    setText(next);
    onValue(parse(next));
  };
  const id = useId();
  return (
    <label class="field" for={id}>
      {label}
      {rows ? (
        <textarea
          id={id}
          name={name}
          rows={rows}
          placeholder={placeholder}
          value={text}
          onInput={(e) => input(e.currentTarget.value)}
        />
      ) : (
        <input
          id={id}
          name={name}
          placeholder={placeholder}
          value={text}
          onInput={(e) => input(e.currentTarget.value)}
        />
      )}
    </label>
  );
}

const commas = (list: string[]) => list.join(", ");
const unpairs = (list: [string, string][]) => list.map(([k, v]) => `${k}=${v}`).join("\n");

/** Rows of one kind (ports, volumes) with add and remove. */
function Rows<T>({
  rows,
  onRows,
  empty,
  addLabel,
  render,
}: {
  rows: T[];
  onRows: (rows: T[]) => void;
  empty: T;
  addLabel: string;
  render: (row: T, put: (row: T) => void) => preact.ComponentChildren;
}) {
  return (
    <div class="rows">
      {rows.map((row, i) => (
        <div class="row" key={i}>
          {render(row, (r) => onRows(rows.map((x, j) => (j === i ? r : x))))}
          <button
            type="button"
            class="quiet"
            aria-label="Remove this row"
            onClick={() => onRows(rows.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onRows([...rows, empty])}>
        {addLabel}
      </button>
    </div>
  );
}

/** argv shown as one line, each word quoted when it has a space. */
function toWords(argv: string[]): string {
  return argv.map((w) => (/[\s"']/.test(w) ? JSON.stringify(w) : w)).join(" ");
}

function fromWords(text: string): string[] {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2]!,
  );
}

/** The edit's changes, old beside new, before anything is applied. */
function ChangeReview({
  changes,
  inPlace,
  busy,
  onApply,
  onBack,
}: {
  changes: FieldChange[];
  inPlace: boolean;
  busy: boolean;
  onApply: () => void;
  onBack: () => void;
}) {
  if (!changes.length)
    return (
      <section class="card diff" data-testid="edit-diff">
        <p>Nothing changed.</p>
        <button type="button" onClick={onBack}>
          Back to the form
        </button>
      </section>
    );
  return (
    <section class="card diff" data-testid="edit-diff" aria-label="Changes">
      <h2>Changes</h2>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Now</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.field} data-field={c.field}>
              <th scope="row">{c.label}</th>
              <td class="diff-old">
                <pre>{c.before || "—"}</pre>
              </td>
              <td class="diff-new">
                <pre>{c.after || "—"}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted" data-testid="edit-how">
        {inPlace
          ? "Only limits change: applied in place, the container keeps running."
          : "The container is made again with the same name, networks and volumes; if the new one fails, the old one is put back."}
      </p>
      <div class="form-actions">
        <button type="button" onClick={onBack} disabled={busy}>
          Back to the form
        </button>
        <button
          type="button"
          class="primary"
          data-testid="apply-edit"
          onClick={onApply}
          disabled={busy}
          aria-busy={busy}
        >
          {busy ? "Applying…" : "Apply"}
        </button>
      </div>
    </section>
  );
}
