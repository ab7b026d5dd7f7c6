import { useEffect, useState } from "preact/hooks";
import { useUser } from "../../app/contexts.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { TableHead } from "../../ui/table-head.tsx";

interface AuditEntry {
  id: number;
  at: number;
  username: string;
  address: string;
  env: string;
  action: string;
  target: string;
  result: "ok" | "denied" | "error";
  status: number;
  detail: string;
}

interface Filters {
  user: string;
  action: string;
  result: string;
  env: string;
  q: string;
}

const PAGE = 100;
const NO_FILTERS: Filters = { user: "", action: "", result: "", env: "", q: "" };
const RESULT_CLASS = { ok: "st-running", denied: "st-paused", error: "st-dead" } as const;

/** The filters as a query string, blanks left out: the list and the export links share it. */
function queryOf(filters: Filters): string {
  return new URLSearchParams(Object.entries(filters).filter(([, v]) => v.trim() !== "")).toString();
}

function fetchPage(query: string, before?: number): Promise<AuditEntry[]> {
  const cursor = before === undefined ? "" : `&before=${before}`;
  return api<AuditEntry[]>("GET", `/audit?${query}&limit=${PAGE}${cursor}`);
}

/** Who changed what, newest first: filters, a page at a time, exports of what the filters select. */
export function AuditPage() {
  // Only admins can change the retention setting.
  const canManage = useUser().role === "admin";
  const [draft, setDraft] = useState(NO_FILTERS);
  const [applied, setApplied] = useState(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const query = queryOf(applied);

  // Each "Filter" reloads, even with the same filters: it is also how to see what happened since.
  useEffect(() => {
    // An answer for filters since replaced is dropped: the last filters applied win.
    let current = true;
    setEntries(null);
    setError(null);
    fetchPage(queryOf(applied)).then(
      (page) => {
        if (!current) return;
        setEntries(page);
        setMore(page.length === PAGE);
      },
      (err) => current && setError(errorMessage(err)),
    );
    return () => {
      current = false;
    };
  }, [applied]);

  const loadMore = async (before: number) => {
    setLoading(true);
    try {
      const page = await fetchPage(query, before);
      setEntries((shown) => [...(shown ?? []), ...page]);
      setMore(page.length === PAGE);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    document.title = "Audit · GhostPanel";
    return () => {
      document.title = "GhostPanel";
    };
  }, []);

  const field = (key: keyof Filters, label: string, placeholder: string) => (
    <input
      type="search"
      aria-label={label}
      placeholder={placeholder}
      data-testid={`audit-${key}`}
      value={draft[key]}
      onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })}
    />
  );

  return (
    <main class="page">
      <div class="toolbar">
        <h1>Audit log</h1>
        <span class="export">
          Export:{" "}
          <a href={`/api/v1/audit/export?format=jsonl&${query}`} download data-testid="export-jsonl">
            JSON lines
          </a>{" "}
          ·{" "}
          <a href={`/api/v1/audit/export?format=csv&${query}`} download data-testid="export-csv">
            CSV
          </a>
        </span>
      </div>
      <form
        class="toolbar audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...draft });
        }}
      >
        {field("user", "User", "User")}
        {field("action", "Action", "Action, e.g. tokens")}
        <select
          aria-label="Result"
          data-testid="audit-result"
          value={draft.result}
          onChange={(e) => setDraft({ ...draft, result: e.currentTarget.value })}
        >
          <option value="">Any result</option>
          <option value="ok">ok</option>
          <option value="denied">denied</option>
          <option value="error">error</option>
        </select>
        {field("env", "Engine", "Engine")}
        {field("q", "Target contains", "Target contains")}
        <button type="submit" class="primary" data-testid="audit-apply">
          Filter
        </button>
      </form>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {entries === null && !error && <p class="muted">Loading…</p>}
      {entries?.length === 0 && <p class="empty muted">No entry matches.</p>}
      {entries && entries.length > 0 && (
        <table class="list audit" data-testid="audit-table">
          <TableHead columns={["Time", "User", "Address", "Engine", "Action", "Target", "Result"]} />
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td class="mono">{new Date(e.at).toLocaleString()}</td>
                <td>{e.username || <span class="muted">—</span>}</td>
                <td class="mono">{e.address}</td>
                <td>{e.env}</td>
                <td class="mono au-wrap">{e.action}</td>
                <td class="mono au-wrap">{e.target}</td>
                <td title={e.detail || undefined}>
                  <span class={`badge ${RESULT_CLASS[e.result]}`}>{e.result}</span> {e.status}
                  {e.detail && <div class="muted au-wrap">{e.detail}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && entries && (
        <p>
          <button
            type="button"
            data-testid="audit-more"
            aria-busy={loading}
            disabled={loading}
            onClick={() => loadMore(entries[entries.length - 1]!.id)}
          >
            Load more
          </button>
        </p>
      )}
      {canManage && <Retention />}
    </main>
  );
}

function Retention() {
  const [days, setDays] = useState("");
  const [saved, setSaved] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<{ retention_days: number }>("GET", "/settings/audit").then(
      ({ retention_days }) => {
        setDays(String(retention_days));
        setSaved(retention_days);
      },
      (err) => setError(errorMessage(err)),
    );
  }, []);

  return (
    <form
      class="toolbar retention"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const answer = await api<{ retention_days: number }>("PUT", "/settings/audit", {
            retention_days: Number(days),
          });
          setSaved(answer.retention_days);
        } catch (err) {
          setError(errorMessage(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Retention</h2>
      <label class="check">
        Keep entries for
        <input
          type="number"
          min={1}
          max={3650}
          required
          data-testid="retention-days"
          value={days}
          onInput={(e) => setDays(e.currentTarget.value)}
        />
        days
      </label>
      <button
        type="submit"
        data-testid="retention-save"
        aria-busy={busy}
        disabled={busy || days === String(saved)}
      >
        Save
      </button>
      {saved !== null && <span class="muted">Older entries are deleted (now {saved} days).</span>}
      {error && (
        <span class="alert" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
