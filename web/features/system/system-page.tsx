import "./system.css";
import { useContext, useEffect, useMemo, useState } from "preact/hooks";
import { topic } from "../../../src/protocol/topics.ts";
import type { DiskUsage, DiskUsageKind, EngineEventItem, PruneReport } from "../../../src/protocol/views.ts";
import { useEnv, useUser } from "../../app/contexts.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { useNow } from "../../lib/clock.ts";
import { useTopic } from "../../lib/live.ts";
import { ReportError } from "../../lib/report.ts";
import { formatBytes } from "../../lib/units.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TableHead } from "../../ui/table-head.tsx";

const path = (env: string, rest: string) => `/envs/${encodeURIComponent(env)}${rest}`;

/** The engine as a whole: what it is, its disk, its events as they happen, and a prune of what is unused. */
export function SystemPage() {
  const env = useEnv().id;
  const admin = useUser().role === "admin";
  return (
    <main class="page system">
      <h1>System</h1>
      <EngineInfo env={env} />
      <DiskUse env={env} />
      {admin && <Prune env={env} />}
      <Events env={env} />
    </main>
  );
}

type Loaded<T> = { data: T } | { error: string } | null;

function useGet<T>(url: string, round = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(null);
  useEffect(() => {
    let current = true;
    api<T>("GET", url).then(
      (data) => current && setState({ data }),
      (err: unknown) => current && setState({ error: errorMessage(err) }),
    );
    return () => {
      current = false;
    };
  }, [url, round]);
  return state;
}

function Section({
  title,
  children,
  extra,
}: {
  title: string;
  children: preact.ComponentChildren;
  extra?: preact.ComponentChildren;
}) {
  return (
    <section class="sys-section">
      <div class="toolbar">
        <h2>{title}</h2>
        {extra}
      </div>
      {children}
    </section>
  );
}

function Problem({ state }: { state: Loaded<unknown> }) {
  if (state === null) return <p class="muted">Loading…</p>;
  if ("error" in state)
    return (
      <p class="alert" role="alert">
        {state.error}
      </p>
    );
  return null;
}

/** What the page shows of /info and /version (the engine says much more; the API passes it all on). */
interface Info {
  info: {
    Name?: string;
    OperatingSystem?: string;
    KernelVersion?: string;
    Architecture?: string;
    NCPU?: number;
    MemTotal?: number;
    Driver?: string;
    DockerRootDir?: string;
    Containers?: number;
    ContainersRunning?: number;
    ContainersStopped?: number;
    Images?: number;
    Swarm?: { LocalNodeState?: string };
  };
  version: { Version?: string; ApiVersion?: string };
}

function EngineInfo({ env }: { env: string }) {
  const state = useGet<Info>(path(env, "/system/info"));
  if (!state || "error" in state)
    return (
      <Section title="Engine">
        <Problem state={state} />
      </Section>
    );
  const { info, version } = state.data;
  const facts: [string, unknown][] = [
    ["Version", `${version.Version} (API ${version.ApiVersion})`],
    ["Operating system", `${info.OperatingSystem} · ${info.KernelVersion} · ${info.Architecture}`],
    ["Host", info.Name],
    ["CPUs · memory", `${info.NCPU} · ${formatBytes(info.MemTotal ?? 0)}`],
    ["Storage driver", info.Driver],
    ["Root directory", info.DockerRootDir],
    [
      "Containers",
      `${info.Containers} (${info.ContainersRunning} running, ${info.ContainersStopped} stopped)`,
    ],
    ["Images", info.Images],
    ["Swarm", info.Swarm?.LocalNodeState ?? "inactive"],
  ];
  return (
    <Section title="Engine">
      <dl class="facts" data-testid="engine-info">
        {facts.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{String(v ?? "—")}</dd>
          </>
        ))}
      </dl>
    </Section>
  );
}

const KINDS: [keyof Omit<DiskUsage, "read_at">, string][] = [
  ["images", "Images"],
  ["containers", "Containers"],
  ["volumes", "Volumes"],
  ["build_cache", "Build cache"],
];

function DiskUse({ env }: { env: string }) {
  const [round, setRound] = useState(0);
  const state = useGet<DiskUsage>(path(env, `/system/df${round ? "?fresh=1" : ""}`), round);
  const now = useNow(5_000);
  const extra =
    state && "data" in state ? (
      <>
        <span class="muted" data-testid="df-age">
          read {Math.max(0, Math.round((now - state.data.read_at) / 1000))} s ago
        </span>
        <button type="button" onClick={() => setRound((n) => n + 1)}>
          Refresh
        </button>
      </>
    ) : undefined;
  return (
    <Section title="Disk use" extra={extra}>
      {!state || "error" in state ? (
        <Problem state={state} />
      ) : (
        <table class="list" data-testid="disk-use">
          <TableHead columns={["Kind", "Count", "In use", "Size", "Reclaimable"]} />
          <tbody>
            {KINDS.map(([key, label]) => {
              const k: DiskUsageKind = state.data[key];
              return (
                <tr key={key} data-kind={key}>
                  <td>{label}</td>
                  <td>{k.count}</td>
                  <td>{k.active}</td>
                  <td>{formatBytes(k.size)}</td>
                  <td>{formatBytes(k.reclaimable)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}

/** A prune of everything unused (admins): a preview of what goes, then a question that names it. */
function Prune({ env }: { env: string }) {
  const report = useContext(ReportError);
  const [allImages, setAllImages] = useState(false);
  const [volumes, setVolumes] = useState(false);
  const [label, setLabel] = useState("");
  const [preview, setPreview] = useState<PruneReport | null>(null);
  const [asking, setAsking] = useState(false);
  const [done, setDone] = useState<PruneReport | null>(null);
  const [busy, setBusy] = useState(false);
  const query = () => {
    const q = new URLSearchParams();
    if (allImages) q.set("all", "1");
    if (volumes) q.set("volumes", "1");
    if (label.trim()) q.set("label", label.trim());
    return q.size ? `?${q}` : "";
  };
  const run = async (method: "GET" | "POST") => {
    setBusy(true);
    setAsking(false);
    try {
      const answer = await api<PruneReport>(method, path(env, `/system/prune${query()}`));
      if (method === "GET") {
        setPreview(answer);
        setDone(null);
      } else {
        setDone(answer);
        setPreview(null);
      }
    } catch (err) {
      report(err);
    } finally {
      setBusy(false);
    }
  };
  const count = (r: PruneReport) =>
    (
      [
        [r.containers.length, "stopped container", "stopped containers"],
        [r.images.length, "image", "images"],
        [r.networks.length, "network", "networks"],
        [r.volumes.length, "volume", "volumes"],
        [r.build_cache.length, "build cache entry", "build cache entries"],
      ] as const
    )
      .filter(([n]) => n > 0)
      .map(([n, one, many]) => `${n} ${n === 1 ? one : many}`)
      .join(", ") || "nothing";
  return (
    <Section title="Prune everything unused">
      <div class="toolbar">
        <label class="check">
          <input
            type="checkbox"
            checked={allImages}
            onChange={(e) => setAllImages(e.currentTarget.checked)}
          />
          Every unused image (not only untagged ones)
        </label>
        <label class="check">
          <input type="checkbox" checked={volumes} onChange={(e) => setVolumes(e.currentTarget.checked)} />
          Unused volumes too (their data is lost)
        </label>
        <input
          type="text"
          aria-label="Only with label"
          placeholder="only with label key=value"
          value={label}
          onInput={(e) => setLabel(e.currentTarget.value)}
        />
        <button
          type="button"
          data-testid="prune-preview"
          disabled={busy}
          aria-busy={busy}
          onClick={() => void run("GET")}
        >
          Preview
        </button>
      </div>
      {preview && (
        <div data-testid="prune-plan">
          <p>
            Would remove {count(preview)} and free about <strong>{formatBytes(preview.space)}</strong>.
          </p>
          <PruneList report={preview} />
          {preview.skipped.map((s) => (
            <p key={s} class="muted">
              Left out: {s}
            </p>
          ))}
          <button type="button" class="danger" disabled={busy} onClick={() => setAsking(true)}>
            Prune
          </button>
        </div>
      )}
      {asking && preview && (
        <ConfirmDialog
          title="Prune everything unused?"
          confirmLabel="Prune"
          danger
          onConfirm={() => void run("POST")}
          onCancel={() => setAsking(false)}
        >
          <p>
            This removes {count(preview)} for good{volumes ? ", with the data in those volumes" : ""}.
          </p>
        </ConfirmDialog>
      )}
      {done && (
        <p data-testid="prune-done">
          Removed {count(done)}; the engine freed {formatBytes(done.space)}.
        </p>
      )}
    </Section>
  );
}

function PruneList({ report }: { report: PruneReport }) {
  const groups: [string, string[]][] = [
    ["Containers", report.containers.map((c) => `${c.name} (${formatBytes(c.size)})`)],
    [
      "Images",
      report.images.map(
        (i) => `${i.tags[0] ?? i.id.replace(/^sha256:/, "").slice(0, 12)} (${formatBytes(i.size)})`,
      ),
    ],
    ["Networks", report.networks.map((n) => n.name)],
    ["Volumes", report.volumes.map((v) => `${v.name} (${formatBytes(v.size)})`)],
    ["Build cache", report.build_cache.map((b) => `${b.id.slice(0, 12)} (${formatBytes(b.size)})`)],
  ];
  return (
    <dl class="facts">
      {groups
        .filter(([, items]) => items.length > 0)
        .map(([kind, items]) => (
          <>
            <dt>{kind}</dt>
            <dd>{items.join(", ")}</dd>
          </>
        ))}
    </dl>
  );
}

const TYPES = ["container", "network", "image", "volume", "daemon"];
const MAX_SHOWN = 500;

/** The engine's events as they come (the panel's one stream of them), newest first, filtered here. */
function Events({ env }: { env: string }) {
  const [events, setEvents] = useState<EngineEventItem[]>([]);
  const [type, setType] = useState("");
  const [action, setAction] = useState("");
  const [container, setContainer] = useState("");
  useTopic(topic.events(env), (kind, data) => {
    if (kind === "recent") setEvents((data as EngineEventItem[]).slice().reverse());
    else if (kind === "event") setEvents((list) => [data as EngineEventItem, ...list].slice(0, MAX_SHOWN));
  });
  const shown = useMemo(() => {
    const a = action.trim();
    const c = container.trim();
    return events.filter(
      (e) =>
        (!type || e.type === type) &&
        (!a || e.action.startsWith(a)) &&
        (!c || e.container?.startsWith(c) || e.container_name?.includes(c)),
    );
  }, [events, type, action, container]);
  return (
    <Section title="Events">
      <div class="toolbar">
        <select
          aria-label="Event type"
          data-testid="event-type"
          value={type}
          onChange={(e) => setType(e.currentTarget.value)}
        >
          <option value="">All types</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <input
          type="search"
          aria-label="Action"
          placeholder="action (start, die, connect…)"
          value={action}
          onInput={(e) => setAction(e.currentTarget.value)}
        />
        <input
          type="search"
          aria-label="Container"
          data-testid="event-container"
          placeholder="container name or id"
          value={container}
          onInput={(e) => setContainer(e.currentTarget.value)}
        />
        <span class="muted">{shown.length} shown</span>
      </div>
      {shown.length === 0 ? (
        <p class="empty muted">No event yet{events.length ? " that matches" : ""}.</p>
      ) : (
        <table class="list events" data-testid="events">
          <TableHead columns={["Time", "Type", "Action", "Object", "Container"]} />
          <tbody>
            {shown.map((e, i) => (
              <tr key={`${e.time_nano}-${e.id}-${e.action}-${i}`} data-type={e.type} data-action={e.action}>
                <td class="mono">{e.time_nano ? new Date(e.time_nano / 1e6).toLocaleTimeString() : "—"}</td>
                <td>{e.type}</td>
                <td>{e.action}</td>
                <td title={e.id}>{e.name ?? e.id.slice(0, 12)}</td>
                <td>{e.container_name ?? (e.container ? e.container.slice(0, 12) : "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
