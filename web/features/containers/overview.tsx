/**
 * What `docker inspect` says of a container, laid out for people: state and health, how it runs,
 * its environment (secret-looking values hidden until asked), labels, mounts, ports and networks.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useInspect } from "./use-inspect.ts";

/** The parts of Docker's ContainerInspect this view reads. */
interface Inspect {
  Created?: string;
  Path?: string;
  Args?: string[];
  Image?: string;
  RestartCount?: number;
  State?: {
    Status?: string;
    ExitCode?: number;
    Error?: string;
    OOMKilled?: boolean;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: {
      Status?: string;
      FailingStreak?: number;
      Log?: { Start?: string; End?: string; ExitCode?: number; Output?: string }[] | null;
    };
  };
  Config?: {
    Image?: string;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    User?: string;
    WorkingDir?: string;
  };
  HostConfig?: { RestartPolicy?: { Name?: string; MaximumRetryCount?: number } };
  Mounts?: {
    Type?: string;
    Name?: string;
    Source?: string;
    Destination?: string;
    Mode?: string;
    RW?: boolean;
  }[];
  NetworkSettings?: {
    Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Networks?: Record<
      string,
      {
        IPAddress?: string;
        Gateway?: string;
        GlobalIPv6Address?: string;
        MacAddress?: string;
        Aliases?: string[] | null;
      }
    > | null;
  };
}

/** Names that usually hold a credential: their values are hidden until revealed. */
const SECRET_NAME = /pass|secret|token|key|credential|auth|private|cert|salt|session|cookie|dsn/i;

const NEVER = "0001-01-01T00:00:00Z";
const when = (t: string | undefined) => (!t || t === NEVER ? "—" : new Date(t).toLocaleString());

export function Overview({ id, version }: { id: string; version: unknown }) {
  const inspected = useInspect(id, version);
  if (!inspected) return <p class="muted">Loading…</p>;
  if ("error" in inspected)
    return (
      <p role="alert" class="alert">
        {inspected.error}
      </p>
    );
  const c = inspected.data as Inspect;
  const state = c.State ?? {};
  const policy = c.HostConfig?.RestartPolicy;
  const env = (c.Config?.Env ?? []).map((line) => {
    const eq = line.indexOf("=");
    return eq < 0 ? ([line, ""] as const) : ([line.slice(0, eq), line.slice(eq + 1)] as const);
  });
  const labels = Object.entries(c.Config?.Labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const ports = Object.entries(c.NetworkSettings?.Ports ?? {});
  const networks = Object.entries(c.NetworkSettings?.Networks ?? {});
  const health = state.Health;

  return (
    <div class="overview" data-testid="overview">
      <Section title="State">
        <dl class="facts">
          <Fact name="Status" id="status">
            {state.Status ?? "—"}
          </Fact>
          <Fact name="Exit code" id="exit-code">
            {state.ExitCode ?? "—"}
          </Fact>
          {state.Error ? (
            <Fact name="Error" id="error">
              <span class="danger-text">{state.Error}</span>
            </Fact>
          ) : null}
          {state.OOMKilled ? <Fact name="Killed">out of memory</Fact> : null}
          <Fact name="Restart policy" id="restart-policy">
            {policy?.Name || "no"}
            {policy?.Name === "on-failure" && policy.MaximumRetryCount
              ? ` (at most ${policy.MaximumRetryCount} times)`
              : ""}
          </Fact>
          <Fact name="Restarts" id="restart-count">
            {c.RestartCount ?? 0}
          </Fact>
          <Fact name="Image" id="image">
            {c.Config?.Image ?? "—"}{" "}
            <span class="muted mono">{c.Image?.replace(/^sha256:/, "").slice(0, 12)}</span>
          </Fact>
          <Fact name="Command" id="command">
            <code>{[c.Path, ...(c.Args ?? [])].filter(Boolean).join(" ") || "—"}</code>
          </Fact>
          {c.Config?.User ? (
            <Fact name="User" id="user">
              {c.Config.User}
            </Fact>
          ) : null}
          <Fact name="Created" id="created">
            {when(c.Created)}
          </Fact>
          <Fact name="Started" id="started">
            {when(state.StartedAt)}
          </Fact>
          {state.Status !== "running" ? (
            <Fact name="Finished" id="finished">
              {when(state.FinishedAt)}
            </Fact>
          ) : null}
        </dl>
      </Section>

      {health && (
        <Section title="Health">
          <dl class="facts">
            <Fact name="Status" id="health-status">
              {health.Status ?? "—"}
            </Fact>
            <Fact name="Failing streak" id="failing-streak">
              {health.FailingStreak ?? 0}
            </Fact>
          </dl>
          <table class="kv" data-testid="health-log">
            <thead>
              <tr>
                <th scope="col">Ended</th>
                <th scope="col">Exit</th>
                <th scope="col">Output</th>
              </tr>
            </thead>
            <tbody>
              {[...(health.Log ?? [])].reverse().map((check) => (
                <tr key={check.Start}>
                  <td>{when(check.End)}</td>
                  <td>{check.ExitCode}</td>
                  <td>
                    <pre class="check-output">{check.Output?.trimEnd() || "(no output)"}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}

      <Section title={`Environment (${env.length})`}>
        {env.length ? (
          <table class="kv" data-testid="env">
            <tbody>
              {env.map(([name, value]) => (
                <EnvRow key={name} name={name} value={value} />
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>

      <Section title={`Labels (${labels.length})`}>
        <KeyValues rows={labels} testid="labels" />
      </Section>

      <Section title={`Mounts (${c.Mounts?.length ?? 0})`}>
        {c.Mounts?.length ? (
          <table class="kv" data-testid="mounts">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Source</th>
                <th scope="col">In the container</th>
                <th scope="col">Access</th>
              </tr>
            </thead>
            <tbody>
              {c.Mounts.map((m) => (
                <tr key={m.Destination} data-destination={m.Destination}>
                  <td>{m.Type}</td>
                  <td class="mono">{m.Type === "volume" ? m.Name : m.Source}</td>
                  <td class="mono">{m.Destination}</td>
                  <td>{m.RW ? "read-write" : "read-only"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>

      <Section title={`Ports (${ports.length})`}>
        {ports.length ? (
          <table class="kv" data-testid="ports">
            <tbody>
              {ports.map(([port, bindings]) => (
                <tr key={port} data-port={port}>
                  <th scope="row" class="mono">
                    {port}
                  </th>
                  <td class="mono">
                    {bindings?.length
                      ? bindings.map((b) => `${b.HostIp || "0.0.0.0"}:${b.HostPort}`).join(", ")
                      : "not published"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>

      <Section title={`Networks (${networks.length})`}>
        {networks.length ? (
          <table class="kv" data-testid="networks">
            <thead>
              <tr>
                <th scope="col">Network</th>
                <th scope="col">IP address</th>
                <th scope="col">Gateway</th>
                <th scope="col">Aliases</th>
              </tr>
            </thead>
            <tbody>
              {networks.map(([name, n]) => (
                <tr key={name} data-network={name}>
                  <th scope="row">{name}</th>
                  <td class="mono">{[n.IPAddress, n.GlobalIPv6Address].filter(Boolean).join(", ") || "—"}</td>
                  <td class="mono">{n.Gateway || "—"}</td>
                  <td>{n.Aliases?.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>
    </div>
  );
}

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="overview-part">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function Fact({ name, id, children }: { name: string; id?: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd data-fact={id}>{children}</dd>
    </>
  );
}

function KeyValues({ rows, testid }: { rows: [string, string][]; testid: string }) {
  if (!rows.length) return <p class="muted">None.</p>;
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k} data-key={k}>
            <th scope="row" class="mono">
              {k}
            </th>
            <td class="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EnvRow({ name, value }: { name: string; value: string }) {
  const secret = SECRET_NAME.test(name) && value !== "";
  const [shown, setShown] = useState(!secret);
  return (
    <tr data-key={name}>
      <th scope="row" class="mono">
        {name}
      </th>
      <td class="mono">
        {shown ? (
          <span data-value>{value}</span>
        ) : (
          <span class="muted" data-masked>
            ••••••••
          </span>
        )}
        {secret && (
          <button
            type="button"
            class="quiet reveal"
            aria-pressed={shown}
            aria-label={`${shown ? "Hide" : "Reveal"} the value of ${name}`}
            onClick={() => setShown((s) => !s)}
          >
            {shown ? "Hide" : "Reveal"}
          </button>
        )}
      </td>
    </tr>
  );
}
